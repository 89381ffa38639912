package core_test

import (
	"context"
	"crypto/sha256"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// calls returns how many times each endpoint was called.
func calls(srv *lwatest.Server) (tokeninfo, profile int) {
	return srv.CallCount(lwatest.EndpointTokenInfo), srv.CallCount(lwatest.EndpointProfile)
}

func requireVerified(t *testing.T, v *core.Verifier, tok string, want core.Profile) {
	t.Helper()
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, want, p)
}

func TestCacheKeyIsSHA256(t *testing.T) {
	tok := randomToken("Atza|")
	assert.Equal(t, sha256.Sum256([]byte(tok)), core.KeyOf(tok))
	assert.Equal(t, sha256.Sum256(nil), core.KeyOf(""))
	assert.NotEqual(t, core.KeyOf(tok), core.KeyOf(tok+"x"))
}

func TestCacheManyVerifiesOneUpstreamCall(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	for range 100 {
		requireVerified(t, v, tok, alice)
	}
	ti, pr := calls(srv)
	assert.Equal(t, 1, ti, "tokeninfo calls")
	assert.Equal(t, 1, pr, "profile calls")

	// Authenticate shares the same cache.
	for range 10 {
		_, p, err := authenticate(v, context.Background(), headerRequest(tok), core.Policy{})
		require.NoError(t, err)
		require.Equal(t, alice, *p)
	}
	ti, pr = calls(srv)
	assert.Equal(t, 1, ti, "tokeninfo calls")
	assert.Equal(t, 1, pr, "profile calls")
}

func TestCacheReturnsCopies(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	p.Email = "mallory@example.com"
	requireVerified(t, v, tok, alice)
}

// TestCacheTTLBoundedByExp: a token with 30 s left is trusted for at most
// 30 s, however long WithCacheTTL allows.
func TestCacheTTLBoundedByExp(t *testing.T) {
	clk := core.NewFakeClock()
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNowNano(clk.Now), core.WithCacheTTL(time.Hour))
	tok := srv.Issue(clientID, alice, lwatest.WithLifetime(30*time.Second))

	requireVerified(t, v, tok, alice)
	clk.Advance(28 * time.Second)
	srv.Advance(28 * time.Second)
	requireVerified(t, v, tok, alice)
	ti, _ := calls(srv)
	require.Equal(t, 1, ti, "still cached at 28 s")

	clk.Advance(3 * time.Second)
	srv.Advance(3 * time.Second)
	_, err := v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	ti, _ = calls(srv)
	assert.Equal(t, 2, ti, "asked again at 31 s")
}

// TestCacheTTLBoundedByOption: WithCacheTTL bounds revocation lag for a
// token with a long lifetime.
func TestCacheTTLBoundedByOption(t *testing.T) {
	clk := core.NewFakeClock()
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNowNano(clk.Now), core.WithCacheTTL(time.Minute))
	tok := srv.Issue(clientID, alice, lwatest.WithLifetime(time.Hour))

	requireVerified(t, v, tok, alice)
	srv.Revoke(tok)
	clk.Advance(59 * time.Second)
	srv.Advance(59 * time.Second)
	requireVerified(t, v, tok, alice) // the revocation is not seen yet
	ti, pr := calls(srv)
	require.Equal(t, 1, ti, "cached at 59 s")
	require.Equal(t, 1, pr, "cached at 59 s")

	clk.Advance(2 * time.Second)
	srv.Advance(2 * time.Second)
	_, err := v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	ti, _ = calls(srv)
	assert.Equal(t, 2, ti, "asked again at 61 s")
}

func TestCacheDefaultTTL(t *testing.T) {
	clk := core.NewFakeClock()
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNowNano(clk.Now))
	tok := srv.Issue(clientID, alice)

	requireVerified(t, v, tok, alice)
	clk.Advance(core.DefaultCacheTTL - time.Second)
	requireVerified(t, v, tok, alice)
	ti, _ := calls(srv)
	require.Equal(t, 1, ti)
	clk.Advance(2 * time.Second)
	requireVerified(t, v, tok, alice)
	ti, _ = calls(srv)
	assert.Equal(t, 2, ti)
}

// TestCacheHugeExp: an exp beyond what a time.Duration can hold in
// nanoseconds still caches the token for WithCacheTTL (the bound is the
// smaller of the two), rather than overflowing into a negative TTL.
func TestCacheHugeExp(t *testing.T) {
	for _, exp := range []int64{math.MaxInt64 / int64(time.Second), math.MaxInt64/int64(time.Second) + 1, math.MaxInt64} {
		srv := newServer(t)
		v := newVerifier(t, srv)
		srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Body: tokenInfoBody(alice.UserID, clientID, exp)})
		tok := srv.Issue(clientID, alice)
		requireVerified(t, v, tok, alice)
		requireVerified(t, v, tok, alice)
		ti, _ := calls(srv)
		assert.Equal(t, 1, ti, "exp %d: the second Verify is answered from the cache", exp)
	}
}

// TestCacheTTLBoundedByExpSubSecond: with a WithCacheTTL that is not a
// whole number of seconds, the token's remaining lifetime still bounds the
// TTL: exp 1 with a 1.5 s cache TTL is trusted for 1 s, not 1.5 s.
func TestCacheTTLBoundedByExpSubSecond(t *testing.T) {
	clk := core.NewFakeClock()
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNowNano(clk.Now), core.WithCacheTTL(1500*time.Millisecond))
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Body: tokenInfoBody(alice.UserID, clientID, 1)})
	tok := srv.Issue(clientID, alice)

	requireVerified(t, v, tok, alice)
	clk.Advance(900 * time.Millisecond)
	requireVerified(t, v, tok, alice)
	ti, _ := calls(srv)
	require.Equal(t, 1, ti, "cached within exp")

	clk.Advance(300 * time.Millisecond) // 1.2 s: past exp, within the cache TTL
	requireVerified(t, v, tok, alice)
	ti, _ = calls(srv)
	assert.Equal(t, 2, ti, "asked again once exp (1 s) ran out")
}

func TestCacheExpNotPositive(t *testing.T) {
	for _, exp := range []int64{0, -1, math.MinInt64} {
		srv := newServer(t)
		v := newVerifier(t, srv)
		srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Body: tokenInfoBody(alice.UserID, clientID, exp)})
		_, err := v.Verify(context.Background(), srv.Issue(clientID, alice))
		requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	}
}

func TestCacheDisabled(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithCacheTTL(0))
	tok := srv.Issue(clientID, alice)
	for range 5 {
		requireVerified(t, v, tok, alice)
	}
	ti, pr := calls(srv)
	assert.Equal(t, 5, ti)
	assert.Equal(t, 5, pr)
}

func TestForget(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	other := srv.Issue(clientID, alice)
	requireVerified(t, v, tok, alice)
	requireVerified(t, v, other, alice)

	v.Forget(tok)
	requireVerified(t, v, tok, alice)
	requireVerified(t, v, other, alice)
	ti, _ := calls(srv)
	assert.Equal(t, 3, ti, "only the forgotten token is asked again")

	// Forget after a revocation: the next use sees it at once.
	srv.Revoke(tok)
	requireVerified(t, v, tok, alice)
	v.Forget(tok)
	_, err := v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)

	// Forget also drops a remembered rejection.
	ti, _ = calls(srv)
	v.Forget(tok)
	_, err = v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	ti2, _ := calls(srv)
	assert.Equal(t, ti+1, ti2)

	v.Forget("Atza|never-seen") // harmless
}

// TestForgetDuringVerification: a verification under way when Forget is
// called completes but is not cached.
func TestForgetDuringVerification(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	srv.SetDelay(lwatest.EndpointTokenInfo, 200*time.Millisecond)

	done := make(chan result, 1)
	go func() { done <- verifyResult(context.Background(), v, tok) }()
	require.Eventually(t, func() bool { return srv.CallCount(lwatest.EndpointTokenInfo) == 1 },
		5*time.Second, time.Millisecond, "the verification reached tokeninfo")
	v.Forget(tok)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, alice, r.p)

	srv.Recover()
	requireVerified(t, v, tok, alice)
	ti, _ := calls(srv)
	assert.Equal(t, 2, ti, "the result of the forgotten verification was not cached")
}

func TestUpstreamFailureNotCached(t *testing.T) {
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
		t.Run(ep.String(), func(t *testing.T) {
			srv := newServer(t)
			v := newVerifier(t, srv)
			tok := srv.Issue(clientID, alice)
			srv.Fail(ep, lwatest.Failure{Status: 500, Times: 1})

			_, err := v.Verify(context.Background(), tok)
			requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
			// When tokeninfo fails first, the profile call in flight is
			// cancelled: it may never reach the server, or reach it late.
			ti0, _ := calls(srv)
			require.Equal(t, 1, ti0)
			mark := srv.Now()
			requireVerified(t, v, tok, alice)
			ti, _ := calls(srv)
			assert.Equal(t, 1, ti-ti0, "the failure was not cached: tokeninfo asked again")
			again := 0
			for _, c := range srv.Calls(lwatest.EndpointProfile) {
				if c.Start.After(mark) {
					again++
				}
			}
			assert.Equal(t, 1, again, "the failure was not cached: profile asked again")
		})
	}
}

func TestNegativeCache(t *testing.T) {
	clk := core.NewFakeClock()
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNowNano(clk.Now))
	tok := randomToken("Atza|")

	var first *core.Error
	for i := range 1000 {
		_, err := v.Verify(context.Background(), tok)
		e := requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
		if i == 0 {
			first = e
			continue
		}
		require.NotSame(t, first, e, "callers never share one *Error")
		require.Equal(t, first.RequestID, e.RequestID, "the rejection of Amazon's one answer")
	}
	assert.Equal(t, onlyCall(t, srv, lwatest.EndpointTokenInfo).RequestID, first.RequestID)

	// Through Authenticate too.
	_, _, err := authenticate(v, context.Background(), headerRequest(tok), core.Policy{})
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	ti, _ := calls(srv)
	require.Equal(t, 1, ti)

	clk.Advance(core.DefaultNegativeCacheTTL - time.Second)
	_, err = v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	ti, _ = calls(srv)
	require.Equal(t, 1, ti, "still remembered just before the negative TTL")

	clk.Advance(2 * time.Second)
	_, err = v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	ti, _ = calls(srv)
	assert.Equal(t, 2, ti, "asked again after the negative TTL")
}

// TestNegativeCacheLetsATokenRecover: once the negative TTL is over, a
// token Amazon now accepts verifies.
func TestNegativeCacheLetsATokenRecover(t *testing.T) {
	clk := core.NewFakeClock()
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNowNano(clk.Now), core.WithNegativeCacheTTL(3*time.Second))
	tok := randomToken("Atza|")
	_, err := v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)

	srv.Issue(clientID, alice, lwatest.WithToken(tok))
	clk.Advance(2 * time.Second)
	_, err = v.Verify(context.Background(), tok)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	clk.Advance(2 * time.Second)
	requireVerified(t, v, tok, alice)
}

func TestNegativeCacheRows(t *testing.T) {
	for name, tc := range map[string]struct {
		issue    func(srv *lwatest.Server) string
		status   int
		code     string
		sentinel error
	}{
		"another app's token": {
			issue:  func(srv *lwatest.Server) string { return srv.Issue(otherClientID, alice) },
			status: 404, code: core.CodeNotFound, sentinel: core.ErrNotOurToken,
		},
		"insufficient scope": {
			issue:  func(srv *lwatest.Server) string { return srv.Issue(clientID, alice, lwatest.WithScopes()) },
			status: 401, code: core.CodeInsufficientScope, sentinel: core.ErrInsufficientScope,
		},
		"revoked": {
			issue: func(srv *lwatest.Server) string {
				tok := srv.Issue(clientID, alice)
				srv.Revoke(tok)
				return tok
			},
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken,
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			v := newVerifier(t, srv)
			tok := tc.issue(srv)
			for range 20 {
				_, err := v.Verify(context.Background(), tok)
				requireRejection(t, err, tc.status, tc.code, tc.sentinel)
			}
			ti, _ := calls(srv)
			assert.Equal(t, 1, ti)
		})
	}
}

func TestNegativeCacheDisabled(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithNegativeCacheTTL(0))
	tok := randomToken("Atza|")
	for range 5 {
		_, err := v.Verify(context.Background(), tok)
		requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	}
	ti, _ := calls(srv)
	assert.Equal(t, 5, ti)
}

// TestNegativeCacheNeverHoldsUpstreamFailures: many failures in a row are
// each asked again.
func TestNegativeCacheNeverHoldsUpstreamFailures(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Body: "not json"})
	for range 3 {
		_, err := v.Verify(context.Background(), tok)
		requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	}
	ti, _ := calls(srv)
	assert.Equal(t, 3, ti)
}

// TestRejectionNotSharedWithCache: the *Error a caller gets is its own: a
// caller (or a custom error handler) that edits it must not change what the
// negative cache answers to later callers.
func TestRejectionNotSharedWithCache(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := randomToken("Atza|")

	_, err := v.Verify(context.Background(), tok)
	first := requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	want := *first
	first.Description = "changed by a caller"
	first.RequestID = "changed"
	first.Status = 200

	_, err = v.Verify(context.Background(), tok)
	second := requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
	assert.Equal(t, want.Description, second.Description)
	assert.Equal(t, want.RequestID, second.RequestID)
	ti, _ := calls(srv)
	assert.Equal(t, 1, ti, "the second answer came from the negative cache")
}
