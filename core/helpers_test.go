package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Client IDs used by the tests: ours (web and device) and another app's.
const (
	clientID       = "amzn1.application-oa2-client.web0000000000000000000000000000"
	deviceClientID = "amzn1.application-oa2-client.dev0000000000000000000000000000"
	otherClientID  = "amzn1.application-oa2-client.other000000000000000000000000000"
)

var (
	alice = core.Profile{
		UserID:     "amzn1.account.ALICE00000000000000000000000",
		Email:      "alice@example.com",
		Name:       "Alice Liddell",
		PostalCode: "98052",
	}
	aliceUserIDOnly = core.Profile{UserID: alice.UserID}
)

// sentinels are the errors.Is targets of the error table's rows.
var sentinels = []error{
	core.ErrMissingToken,
	core.ErrMalformedToken,
	core.ErrInvalidToken,
	core.ErrInsufficientScope,
	core.ErrNotOurToken,
	core.ErrUpstream,
	core.ErrUpstreamTimeout,
	core.ErrUpstreamUnavailable,
	core.ErrOverloaded,
	core.ErrPreflight,
}

// discardLogger keeps upstream-failure warnings out of the test output.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newServer starts a fake LWA server, closed at the end of the test (after
// the verifiers created later, since cleanups run last-in first-out).
func newServer(t testing.TB) *lwatest.Server {
	t.Helper()
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// newVerifier builds a verifier for srv accepting clientID; opts come last
// and so override the defaults given here. It is closed at the end of the
// test. Refresh-ahead is off, so that tests which move the clock near an
// entry's end count upstream calls exactly (resilience_test.go tests it).
func newVerifier(t testing.TB, srv *lwatest.Server, opts ...core.Option) *core.Verifier {
	t.Helper()
	all := []core.Option{core.WithClientID(clientID), core.WithLogger(discardLogger()), core.WithRefreshAhead(0)}
	if srv != nil {
		all = append(all, core.WithEndpoint(srv.URL))
	}
	v, err := core.NewVerifier(append(all, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	return v
}

// closedURL returns the base URL of a loopback listener that is already
// closed: connecting to it is refused.
func closedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// headerRequest is a GET request carrying tok as a Bearer token.
func headerRequest(tok string) *core.Request {
	return &core.Request{
		Method:        http.MethodGet,
		Authorization: []string{"Bearer " + tok},
	}
}

// amzRequest is a GET request carrying tok in x-amz-access-token.
func amzRequest(tok string) *core.Request {
	return &core.Request{
		Method:         http.MethodGet,
		AmzAccessToken: []string{tok},
	}
}

// requireRejection checks that err is the *core.Error of one row of the
// error table, matching exactly one sentinel, and returns it.
func requireRejection(t testing.TB, err error, status int, code string, sentinel error) *core.Error {
	t.Helper()
	require.Error(t, err)
	var e *core.Error
	require.ErrorAs(t, err, &e, "every rejection is a *core.Error")
	assert.Equal(t, status, e.Status, "status of %v", err)
	assert.Equal(t, code, e.Code, "code of %v", err)
	assert.ErrorIs(t, err, sentinel)
	var matched []error
	for _, s := range sentinels {
		if errors.Is(err, s) {
			matched = append(matched, s)
		}
	}
	assert.Equal(t, []error{sentinel}, matched, "a rejection matches exactly one sentinel")
	assert.NotEmpty(t, e.Description)
	return e
}

// tokenInfoBody is a tokeninfo answer in Amazon's documented shape.
func tokenInfoBody(userID, aud string, exp int64) string {
	return fmt.Sprintf(`{"iss":"https://www.amazon.com","user_id":%q,"aud":%q,"app_id":"amzn1.application.0123","exp":%d,"iat":1446510240}`,
		userID, aud, exp)
}

// profileBody is a profile answer in Amazon's documented shape.
func profileBody(p core.Profile) string {
	return fmt.Sprintf(`{"user_id":%q,"email":%q,"name":%q,"postal_code":%q}`, p.UserID, p.Email, p.Name, p.PostalCode)
}

// onlyCall returns the single call ep received.
func onlyCall(t testing.TB, srv *lwatest.Server, ep lwatest.Endpoint) lwatest.Call {
	t.Helper()
	calls := srv.Calls(ep)
	require.Len(t, calls, 1, "calls to %v", ep)
	return calls[0]
}

// maxOverlap is the largest number of calls in progress at one instant.
func maxOverlap(calls []lwatest.Call) int {
	best := 0
	for _, c := range calls {
		n := 0
		for _, d := range calls {
			// d is in progress at c.Start.
			if !d.Start.After(c.Start) && (d.End.IsZero() || d.End.After(c.Start)) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// parallel runs n calls of f at once, released together by a barrier, and
// returns their results in order.
func parallel[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// result is one Verify's outcome.
type result struct {
	p   core.Profile
	err error
}

func verifyResult(ctx context.Context, v *core.Verifier, tok string) result {
	p, err := v.Verify(ctx, tok)
	return result{p, err}
}

// substrings returns every n-byte substring of s (s itself when shorter).
func substrings(s string, n int) []string {
	if len(s) <= n {
		return []string{s}
	}
	out := make([]string, 0, len(s)-n+1)
	for i := 0; i+n <= len(s); i++ {
		out = append(out, s[i:i+n])
	}
	return out
}

// leaks returns the first secret (or 8-byte piece of one) found in text.
func leaks(text string, secrets ...string) (string, bool) {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, sub := range substrings(s, 8) {
			if strings.Contains(text, sub) {
				return sub, true
			}
		}
	}
	return "", false
}

// authenticate is v.Authenticate with the verified profile read back from
// the context it returns (nil when none).
func authenticate(v *core.Verifier, ctx context.Context, r *core.Request, pol core.Policy) (context.Context, *core.Profile, error) {
	got, ok, err := v.Authenticate(ctx, r, pol)
	if !ok {
		return got, nil, err
	}
	p, found := core.FromContext(got)
	if !found {
		panic("Authenticate verified a token but its context carries no profile")
	}
	return got, &p, err
}
