package benchmarks

import (
	"context"
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/internal/kit"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/otellwa"
	"github.com/go-lwa/lwa/redislwa"
)

// observed returns the options of a verifier observed by otellwa on a real
// SDK MeterProvider (a manual reader: collection is the exporter's business,
// not the request's).
func observed(tb testing.TB) []core.Option {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs, err := otellwa.New(otellwa.WithMeterProvider(mp))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = obs.Close() })
	return []core.Option{core.WithObserver(obs)}
}

// shared returns the options of a verifier with a shared cache on a real
// redis-server on loopback.
func shared(tb testing.TB, localTTL time.Duration) []core.Option {
	rdb := redistest.Start(tb).Client(tb)
	return []core.Option{core.WithSharedCache(redislwa.New(rdb, redislwa.WithTimeout(time.Second))), core.WithLocalCacheTTL(localTTL),
		core.WithSharedKeys([]byte("lwa benchmarks: a fleet key of 32+ bytes"))}
}

// tierNames are the cached checks compared in one run: no extra, with an
// observer, with a shared cache (a local hit), with both.
var tierNames = []string{"plain", "observed", "shared", "shared+observed"}

// tierOptions builds the options of one of tierNames.
func tierOptions(tb testing.TB, name string) []core.Option {
	switch name {
	case "observed":
		return observed(tb)
	case "shared":
		return shared(tb, 30*time.Second)
	case "shared+observed":
		return append(shared(tb, 30*time.Second), observed(tb)...)
	}
	return nil
}

// TestCachedVerifyAllocatesNothing: the local hit makes no allocation, with
// an observer and with a shared cache configured.
func TestCachedVerifyAllocatesNothing(t *testing.T) {
	for _, name := range tierNames {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, tierOptions(t, name)...)
			tok := f.issue(1)[0]
			f.mustVerify(t, tok)
			ctx := context.Background()
			var err error
			if allocs := testing.AllocsPerRun(1000, func() { _, err = f.v.Verify(ctx, tok) }); allocs != 0 {
				t.Errorf("a cached Verify allocates %v times", allocs)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkCachedVerify compares, in one run, a cached Verify with no
// extra, with an otellwa observer on a real SDK MeterProvider, with a shared
// cache configured (the local tier hits), and one SHA-256 of the token:
//
//	go test -run '^$' -bench 'CachedVerify|TokenSHA256' -count 8 ./internal/benchmarks/
func BenchmarkCachedVerify(b *testing.B) {
	for _, name := range tierNames {
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, tierOptions(b, name)...)
			tok := f.issue(1)[0]
			f.mustVerify(b, tok)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenSHA256 is the floor of a cached Verify: one SHA-256 of a
// ~400-byte token.
func BenchmarkTokenSHA256(b *testing.B) {
	f := newFixture(b)
	data := []byte(f.issue(1)[0])
	b.ReportAllocs()
	var sum [sha256.Size]byte
	for b.Loop() {
		sum = sha256.Sum256(data)
	}
	_ = sum
}

// BenchmarkSharedTierHit is a local miss answered by the shared tier on a
// loopback redis-server (the local tier keeps nothing): the cost a replica
// pays for a token another replica verified. "settled" is a replica
// subscribed for longer than a token lives, which has heard every customer
// revocation that can still matter: one round trip (entry, revocation record
// and forget tombstone together). "newcomer" is a replica that may have
// missed one, and also reads the customer's revocation record.
//
//	go test -run '^$' -bench SharedTierHit ./internal/benchmarks/
func BenchmarkSharedTierHit(b *testing.B) {
	for _, settled := range []bool{true, false} {
		name := "newcomer"
		if settled {
			name = "settled"
		}
		b.Run(name, func(b *testing.B) {
			var ahead atomic.Int64
			sub := &subscribed{}
			rs := redistest.Start(b)
			f := newFixture(b, core.WithSharedCache(redislwa.New(rs.Client(b), redislwa.WithTimeout(time.Second))),
				core.WithLocalCacheTTL(time.Nanosecond), core.WithSharedKeys([]byte("lwa benchmarks: a fleet key of 32+ bytes")),
				core.WithObserver(sub), kit.WithClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }))
			if settled {
				rdb := rs.Client(b)
				for sub.n.Load() == 0 { // a message reaches a subscribed replica only
					if err := rdb.Publish(context.Background(), redislwa.DefaultChannel, "hello").Err(); err != nil {
						b.Fatal(err)
					}
					time.Sleep(time.Millisecond)
				}
				ahead.Store(int64(62 * time.Minute))
			}
			tok := f.issue(1)[0]
			f.mustVerify(b, tok)
			calls := f.srv.CallCount(0)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if f.srv.CallCount(0) != calls {
				b.Fatal("a shared-tier hit asked Amazon")
			}
		})
	}
}

// subscribed counts the messages a replica could not read: the first one
// proves its subscription is up.
type subscribed struct {
	observe.Nop
	n atomic.Int64
}

func (s *subscribed) SharedForgery(context.Context, observe.Forgery) { s.n.Add(1) }
