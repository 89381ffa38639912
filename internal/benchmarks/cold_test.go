package benchmarks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/redislwa"
	"github.com/redis/go-redis/v9"
)

// coldDelay is the latency lwatest adds to every tokeninfo and every profile
// answer in the cold-path benchmarks: one simulated round trip to Amazon.
const coldDelay = 20 * time.Millisecond

// coldFixture is a fixture whose upstream answers each take coldDelay, with
// its keep-alive connections already open (so that no iteration pays for a
// TCP handshake the other side does not).
func coldFixture(b *testing.B, warm func(f *fixture, tok string)) *fixture {
	f := newFixture(b)
	warm(f, f.issue(1)[0])
	f.srv.SetDelay(lwatest.EndpointTokenInfo, coldDelay)
	f.srv.SetDelay(lwatest.EndpointProfile, coldDelay)
	return f
}

// reportDelayRatio reports the time per operation as a multiple of one
// upstream delay: about 1 when the two upstream calls overlap, 2 when they
// run one after the other.
func reportDelayRatio(b *testing.B, d time.Duration) {
	b.ReportMetric(float64(b.Elapsed())/float64(d)/float64(b.N), "x-delay")
}

// BenchmarkColdVerify verifies a token never seen before in every iteration:
// a cache miss, so core asks tokeninfo and profile, in parallel. Expect
// about 1.0 x-delay.
func BenchmarkColdVerify(b *testing.B) {
	ctx := context.Background()
	f := coldFixture(b, func(f *fixture, tok string) { f.mustVerify(b, tok) })
	toks := f.issue(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.v.Verify(ctx, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportDelayRatio(b, coldDelay)
}

// BenchmarkSampleCodeBaseline does what Amazon's sample code does for every
// request (see lwa-obtain-customer-profile: PHP, Ruby, Java, Python): GET
// tokeninfo, check aud, then GET profile with "Authorization: bearer", one
// after the other, no cache, with the same HTTP client settings as
// BenchmarkColdVerify. Expect about 2.0 x-delay.
func BenchmarkSampleCodeBaseline(b *testing.B) {
	ctx := context.Background()
	f := coldFixture(b, func(f *fixture, tok string) {
		if _, err := sampleCodeVerify(ctx, f.client, f.srv.URL, tok); err != nil {
			b.Fatal(err)
		}
	})
	toks := f.issue(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := sampleCodeVerify(ctx, f.client, f.srv.URL, toks[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportDelayRatio(b, coldDelay)
}

// TestSampleCodeBaseline checks that the baseline is a faithful, working
// verification (so that the benchmark compares like with like): it returns
// the customer's profile and rejects a token issued to another app.
func TestSampleCodeBaseline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok := f.issue(1)[0]
	p, err := sampleCodeVerify(ctx, f.client, f.srv.URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := f.srv.Profile(tok); p != want {
		t.Fatalf("profile = %+v, want %+v", p, want)
	}
	other := f.srv.Issue("amzn1.application-oa2-client.other", profile)
	if _, err := sampleCodeVerify(ctx, f.client, f.srv.URL, other); !errors.Is(err, errNotOurs) {
		t.Fatalf("token of another app: err = %v, want %v", err, errNotOurs)
	}
	if n := f.srv.CallCount(lwatest.EndpointProfile); n != 1 {
		t.Fatalf("profile calls = %d, want 1 (the aud check must come first)", n)
	}
}

var errNotOurs = errors.New("the access token does not belong to us")

// sampleCodeVerify is Amazon's sample code in Go: tokeninfo, the aud check,
// then the profile, sequentially.
func sampleCodeVerify(ctx context.Context, client *http.Client, endpoint, token string) (core.Profile, error) {
	// verify that the access token belongs to us
	var ti struct {
		Aud string `json:"aud"`
	}
	if err := getJSON(ctx, client, endpoint+"/auth/o2/tokeninfo?access_token="+url.QueryEscape(token), "", &ti); err != nil {
		return core.Profile{}, err
	}
	if ti.Aud != clientID {
		return core.Profile{}, errNotOurs
	}
	// exchange the access token for user profile
	var p core.Profile
	if err := getJSON(ctx, client, endpoint+"/user/profile", "bearer "+token, &p); err != nil {
		return core.Profile{}, err
	}
	return p, nil
}

func getJSON(ctx context.Context, client *http.Client, u, authorization string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s: HTTP %d", req.URL.Path, resp.StatusCode)
	}
	err = json.NewDecoder(resp.Body).Decode(dst)
	_, _ = io.Copy(io.Discard, resp.Body) // keep the connection reusable
	return err
}

// BenchmarkRedisDown verifies a new token in every iteration (no upstream
// delay) with no shared cache, with a shared cache whose Redis is stopped,
// and with one whose Redis hangs (SIGSTOP): after the first failed call the
// shared tier is skipped until a probe in the background finds Redis back,
// so a new token costs the same with Redis down as without a shared cache
// (the first verification after the failure pays at most one call's
// timeout, 50 ms by default).
//
//	go test -run '^$' -bench RedisDown ./internal/benchmarks/
func BenchmarkRedisDown(b *testing.B) {
	for _, mode := range []string{"no shared cache", "redis stopped", "redis hanging"} {
		b.Run(strings.ReplaceAll(mode, " ", "-"), func(b *testing.B) {
			var opts []core.Option
			var rs *redistest.Server
			if mode != "no shared cache" {
				rs = redistest.Start(b)
				opts = append(opts, core.WithSharedCache(redislwa.New(rs.Client(b))), core.WithLogger(slog.New(slog.DiscardHandler)),
					core.WithSharedKeys([]byte("lwa benchmarks: a fleet key of 32+ bytes")))
			}
			f := newFixture(b, opts...)
			f.mustVerify(b, f.issue(1)[0])
			switch mode {
			case "redis stopped":
				rs.Stop()
			case "redis hanging":
				rs.Freeze()
				b.Cleanup(rs.Thaw)
			}
			toks := f.issue(b.N + 1)
			ctx := context.Background()
			f.mustVerify(b, toks[b.N]) // the first after the failure: one call's timeout at most
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.v.Verify(ctx, toks[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// quietRedis keeps go-redis's own dial errors out of the benchmarks' output.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }
