package benchmarks

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Every verifier, lwatest server and HTTP client a test or benchmark makes is
// closed by a t.Cleanup, so no goroutine may outlive the package's tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clientID is the LWA client ID every token is issued for and every verifier
// accepts.
const clientID = "amzn1.application-oa2-client.bench"

// profile is the customer every token is issued for (Issue generates a
// distinct user_id per token). All three scopes' fields are present, as for a
// real customer who granted "profile" and "postal_code".
var profile = core.Profile{Email: "alice@example.com", Name: "Alice Example", PostalCode: "98052"}

// fixture is an lwatest server and a verifier that asks it.
type fixture struct {
	srv    *lwatest.Server
	v      *core.Verifier
	client *http.Client // the verifier's upstream client
}

// newFixture starts an lwatest server and a verifier pointed at it, both
// closed when tb ends. The verifier uses upstreamClient(), the same settings
// as core's default client, so that the sample-code baseline can share them.
func newFixture(tb testing.TB, opts ...core.Option) *fixture {
	tb.Helper()
	srv := lwatest.NewServer()
	tb.Cleanup(srv.Close)
	client := upstreamClient()
	tb.Cleanup(client.CloseIdleConnections)
	opts = append([]core.Option{
		core.WithClientID(clientID),
		core.WithEndpoint(srv.URL),
		core.WithHTTPClient(client),
	}, opts...)
	v, err := core.NewVerifier(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	return &fixture{srv: srv, v: v, client: client}
}

// issue mints n distinct tokens for clientID.
func (f *fixture) issue(n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = f.srv.Issue(clientID, profile)
	}
	return toks
}

// mustVerify verifies tok and checks that the profile is the one lwatest
// issued it for.
func (f *fixture) mustVerify(tb testing.TB, tok string) {
	tb.Helper()
	p, err := f.v.Verify(context.Background(), tok)
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	want, _ := f.srv.Profile(tok)
	if p != want {
		tb.Fatalf("Verify = %+v, want %+v", p, want)
	}
}

// upstreamClient returns an HTTP client with the settings of core's default
// upstream client (core.newDefaultClient): keep-alive, 2×64 idle connections
// per host, no redirects. Core uses one like it when WithHTTPClient is not
// given; the benchmarks pass it explicitly so that the verifier and the
// sample-code baseline use the very same client settings.
func upstreamClient() *http.Client {
	const maxConns = core.DefaultMaxConcurrent
	return &http.Client{
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   5 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          2 * maxConns,
			MaxIdleConnsPerHost:   2 * maxConns,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
