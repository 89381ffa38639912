package core_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// TestBreakerOpensAndRecovers: five upstream failures in a row open the
// breaker; new tokens are then answered at once with 503 and Retry-After,
// without asking Amazon; after the cooldown one probe goes through, and its
// success closes the breaker. Time moves with the fake's clock.
func TestBreakerOpensAndRecovers(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	ctx := context.Background()
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
	for i := range core.DefaultBreakerFailures {
		_, err := v.Verify(ctx, srv.Token(alice))
		requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
		require.Equal(t, i+1, srv.CallCount(lwatest.EndpointTokenInfo))
	}
	_, err := v.Verify(ctx, srv.Token(alice))
	e := requireRejection(t, err, 503, core.CodeServerError, core.ErrUpstreamUnavailable)
	assert.Equal(t, core.DefaultBreakerFailures, srv.CallCount(lwatest.EndpointTokenInfo), "the open breaker asked nobody")
	w := httptest.NewRecorder()
	core.WriteError(w, e)
	assert.Equal(t, "2", w.Header().Get("Retry-After"))

	srv.Advance(core.DefaultBreakerCooldown) // half-open: one probe, still failing
	_, err = v.Verify(ctx, srv.Token(alice))
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	_, err = v.Verify(ctx, srv.Token(alice))
	requireRejection(t, err, 503, core.CodeServerError, core.ErrUpstreamUnavailable)

	srv.Recover()
	srv.Advance(core.DefaultBreakerCooldown) // the next probe succeeds and closes it
	tok := srv.Token(alice)
	requireVerified(t, v, tok, alice)
	requireVerified(t, v, srv.Token(alice), alice)
}

// TestBreakerIgnoresRejections: Amazon's documented rejections are
// answers, not failures.
func TestBreakerIgnoresRejections(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithNegativeCacheTTL(0))
	ctx := context.Background()
	for range 3 * core.DefaultBreakerFailures {
		tok := srv.Token(alice)
		srv.Revoke(tok)
		_, err := v.Verify(ctx, tok)
		requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)
		_, err = v.Verify(ctx, srv.Issue("amzn1.application-oa2-client.other", alice))
		requireRejection(t, err, 404, core.CodeNotFound, core.ErrNotOurToken)
	}
	requireVerified(t, v, srv.Token(alice), alice)
}

// TestBreakerHalfOpenLetsOneThrough: while half-open, one verification
// probes; the others are answered at once.
func TestBreakerHalfOpenLetsOneThrough(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithCircuitBreaker(1, time.Second))
	ctx := context.Background()
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
	_, err := v.Verify(ctx, srv.Token(alice))
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	srv.Advance(time.Second)
	srv.SetDelay(lwatest.EndpointTokenInfo, 100*time.Millisecond) // the probe is slow
	results := parallel(10, func(int) error { _, err := v.Verify(ctx, srv.Token(alice)); return err })
	ok, unavailable := 0, 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case errorsIs(err, core.ErrUpstreamUnavailable):
			unavailable++
		}
	}
	assert.Equal(t, 1, ok, "one probe")
	assert.Equal(t, 9, unavailable)
	assert.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestRefreshAhead: a token used in the last part of its trust window is
// re-verified in the background while the request is answered from memory;
// the renewed entry serves it past its first window.
func TestRefreshAhead(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithCacheTTL(100*time.Second))
	tok := srv.Token(alice)
	requireVerified(t, v, tok, alice)
	srv.Advance(50 * time.Second)
	requireVerified(t, v, tok, alice)
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "not yet in the refresh window")

	srv.SetDelay(lwatest.EndpointTokenInfo, 200*time.Millisecond) // Amazon is slow: nobody waits for it
	srv.Advance(35 * time.Second)                                 // 85 s: in the last 20 %
	start := time.Now()
	requireVerified(t, v, tok, alice)
	assert.Less(t, time.Since(start), 150*time.Millisecond, "answered from memory")
	require.Eventually(t, func() bool {
		calls := srv.Calls(lwatest.EndpointTokenInfo)
		return len(calls) == 2 && !calls[1].End.IsZero()
	}, 5*time.Second, time.Millisecond, "refreshed in the background")
	for range 5 {
		requireVerified(t, v, tok, alice) // coalesced: one refresh
	}
	srv.Advance(30 * time.Second) // 115 s: past the first window, within the renewed one
	requireVerified(t, v, tok, alice)
	assert.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestRefreshAheadRejectionDropsEntry: a refresh Amazon rejects drops the
// entry; one that fails upstream keeps it only until its normal expiry.
func TestRefreshAheadRejectionDropsEntry(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithCacheTTL(100*time.Second))
	ctx := context.Background()

	rejected := srv.Token(alice)
	requireVerified(t, v, rejected, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 400, Times: 1}) // as if revoked at Amazon
	srv.Advance(85 * time.Second)
	requireVerified(t, v, rejected, alice) // served while the refresh runs
	require.Eventually(t, func() bool {
		_, err := v.Verify(ctx, rejected)
		return errorsIs(err, core.ErrInvalidToken)
	}, 5*time.Second, time.Millisecond, "the rejection dropped the entry")

	failing := srv.Token(alice)
	requireVerified(t, v, failing, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
	srv.Advance(85 * time.Second)
	requireVerified(t, v, failing, alice)
	require.Eventually(t, func() bool {
		calls := srv.Calls(lwatest.EndpointTokenInfo)
		return calls[len(calls)-1].Status == 500
	}, 5*time.Second, time.Millisecond)
	requireVerified(t, v, failing, alice) // kept until its normal expiry
	srv.Advance(16 * time.Second)         // 101 s: past it
	_, err := v.Verify(ctx, failing)
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
}

// TestStaleIfError: while Amazon fails, an entry past its TTL by at most d
// is served; never past the token's own expiry, never once forgotten or
// revoked; off by default.
func TestStaleIfError(t *testing.T) {
	srv := lwatest.Start(t)
	ctx := context.Background()
	stale := srv.Verifier(t, core.WithCacheTTL(time.Minute), core.WithStaleIfError(5*time.Minute), core.WithRefreshAhead(0))
	plain := srv.Verifier(t, core.WithCacheTTL(time.Minute), core.WithRefreshAhead(0))
	tok := srv.Token(alice)
	short := srv.Token(alice, lwatest.WithLifetime(90*time.Second))
	forgotten, revoked := srv.Token(alice), srv.Token(alice)
	for _, x := range []string{tok, short, forgotten, revoked} {
		requireVerified(t, stale, x, alice)
	}
	requireVerified(t, plain, tok, alice)
	stale.Forget(forgotten)
	requireVerified(t, stale, forgotten, alice) // cached again …
	stale.Forget(forgotten)                     // … and forgotten for good
	require.NoError(t, stale.Revoke(ctx, revoked))

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 503})
	srv.Advance(80 * time.Second) // past the TTL, within d and the short token's life
	requireVerified(t, stale, tok, alice)
	requireVerified(t, stale, short, alice)
	_, err := plain.Verify(ctx, tok)
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	_, err = stale.Verify(ctx, forgotten)
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	_, err = stale.Verify(ctx, revoked)
	requireRejection(t, err, 400, core.CodeInvalidToken, core.ErrInvalidToken)

	srv.Advance(15 * time.Second) // 95 s: past the short token's expiry
	_, err = stale.Verify(ctx, short)
	require.Error(t, err, "never past the token's own expiry")
	srv.Advance(5 * time.Minute) // past TTL + d
	_, err = stale.Verify(ctx, tok)
	require.Error(t, err)

	srv.Recover()
	srv.Advance(core.DefaultBreakerCooldown)
	requireVerified(t, stale, tok, alice)
}
