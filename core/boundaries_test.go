package core_test

// Trust boundaries inside one replica: racing requests, revocations that
// must win every race, the breaker, refreshes and orphaned work. Races are
// held open with an Observer that blocks a verification at its call to
// Amazon, so that every interleaving is the one the test names, without a
// sleep.

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
)

// gate is an Observer that holds every verification at its tokeninfo call
// until released: entered receives once per held call.
type gate struct {
	observe.Nop
	entered chan struct{}
	mu      sync.Mutex
	open    chan struct{}
	armed   atomic.Bool
}

func newGate() *gate {
	g := &gate{entered: make(chan struct{}, 64), open: make(chan struct{})}
	g.armed.Store(true)
	return g
}

func (g *gate) UpstreamStart(ctx context.Context, c observe.UpstreamCall) context.Context {
	if c.Endpoint == "tokeninfo" && g.armed.Load() {
		g.mu.Lock()
		open := g.open
		g.mu.Unlock()
		g.entered <- struct{}{}
		<-open
	}
	return ctx
}

// wait waits until n calls are held.
func (g *gate) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-g.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("no verification reached Amazon")
		}
	}
}

// arm makes the gate hold the next calls again.
func (g *gate) arm() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
	g.armed.Store(true)
}

// release lets the held calls (and every later one) through.
func (g *gate) release() {
	g.armed.Store(false)
	g.mu.Lock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
	g.mu.Unlock()
}

// verifyAsync verifies tok in the background.
func verifyAsync(v *core.Verifier, tok string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), tok)
		done <- err
	}()
	return done
}

func recv(t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the verification did not end")
		return nil
	}
}

// TestRevocationWinsTheRace: for every revocation path, a verification
// that was asking Amazon when the revocation returned neither hands the
// token to its callers (Revoke, RevokeUser) nor caches it (all three).
func TestRevocationWinsTheRace(t *testing.T) {
	for _, c := range []struct {
		name    string
		revoke  func(v *core.Verifier, tok string) error
		rejects bool // the in-flight callers are rejected too
	}{
		{"Forget", func(v *core.Verifier, tok string) error { v.Forget(tok); return nil }, false},
		{"Revoke", func(v *core.Verifier, tok string) error { return v.Revoke(context.Background(), tok) }, true},
		{"RevokeUser", func(v *core.Verifier, _ string) error { return v.RevokeUser(context.Background(), alice.UserID) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := lwatest.Start(t)
			g := newGate()
			v := srv.Verifier(t, core.WithObserver(g), core.WithRefreshAhead(0))
			tok := srv.Token(alice)
			inFlight := verifyAsync(v, tok)
			g.wait(t, 1)
			require.NoError(t, c.revoke(v, tok))
			g.release()
			err := recv(t, inFlight)
			if c.rejects {
				require.ErrorIs(t, err, core.ErrInvalidToken, "answered after the revocation returned")
			} else {
				require.NoError(t, err, "Forget is not a revocation: the answer stands")
			}
			_, err = v.Verify(context.Background(), tok)
			if c.rejects {
				require.ErrorIs(t, err, core.ErrInvalidToken)
			} else {
				require.NoError(t, err)
				assert.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo), "not cached: asked again")
			}
		})
	}
}

// TestRefreshAheadLosesToRevoke: a refresh ahead of expiry under way when
// Revoke returns does not bring the token back.
func TestRefreshAheadLosesToRevoke(t *testing.T) {
	srv := lwatest.Start(t)
	g := newGate()
	g.release()
	v := srv.Verifier(t, core.WithObserver(g), core.WithCacheTTL(100*time.Second), core.WithRefreshAhead(0.2))
	tok := srv.Token(alice)
	requireVerified(t, v, tok, alice)

	g.arm()
	srv.Advance(85 * time.Second)     // in the refresh window
	requireVerified(t, v, tok, alice) // answered from memory; a refresh starts
	g.wait(t, 1)
	require.NoError(t, v.Revoke(context.Background(), tok))
	g.release()
	require.Eventually(t, func() bool { return srv.CallCount(lwatest.EndpointProfile) == 2 }, 5*time.Second, time.Millisecond)
	for range 3 {
		_, err := v.Verify(context.Background(), tok)
		require.ErrorIs(t, err, core.ErrInvalidToken)
	}
}

// TestStaleNeverServesARevokedCustomer: stale-if-error serves a token while
// Amazon fails, but never once its customer was revoked.
func TestStaleNeverServesARevokedCustomer(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithCacheTTL(10*time.Second), core.WithStaleIfError(time.Minute), core.WithRefreshAhead(0))
	tok := srv.Token(alice)
	requireVerified(t, v, tok, alice)
	srv.Advance(11 * time.Second)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
	requireVerified(t, v, tok, alice) // stale, while Amazon fails
	require.NoError(t, v.RevokeUser(context.Background(), alice.UserID))
	_, err := v.Verify(context.Background(), tok)
	require.ErrorIs(t, err, core.ErrInvalidToken, "revoked, not served stale")
	assert.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo), "this replica knew: Amazon was not asked")
}

// TestRevokeUserTouchesOneCustomer: RevokeUser in a loop (a "sign out
// everywhere" button) keeps other customers cached, and a verification of
// another customer under way is still cached.
func TestRevokeUserTouchesOneCustomer(t *testing.T) {
	srv := lwatest.Start(t)
	g := newGate()
	v := srv.Verifier(t, core.WithObserver(g), core.WithRefreshAhead(0))
	bob := core.Profile{UserID: "amzn1.account.BOB", Name: "Bob"}
	carol := core.Profile{UserID: "amzn1.account.CAROL", Name: "Carol"}
	bobTok, carolTok := srv.Token(bob), srv.Token(carol)
	first := verifyAsync(v, bobTok)
	g.wait(t, 1)
	g.release()
	require.NoError(t, recv(t, first))

	g2 := newGate()
	v2 := srv.Verifier(t, core.WithObserver(g2), core.WithRefreshAhead(0))
	requireVerifiedAsync := verifyAsync(v2, carolTok)
	g2.wait(t, 1)
	for range 100 {
		require.NoError(t, v.RevokeUser(context.Background(), alice.UserID))
		require.NoError(t, v2.RevokeUser(context.Background(), alice.UserID))
	}
	g2.release()
	require.NoError(t, recv(t, requireVerifiedAsync))
	calls := srv.CallCount(lwatest.EndpointTokenInfo)
	requireVerified(t, v, bobTok, bob)
	requireVerified(t, v2, carolTok, carol)
	assert.Equal(t, calls, srv.CallCount(lwatest.EndpointTokenInfo), "bob and carol stayed cached")
}

// TestRevokeUserAllowsForSkew: a token Amazon issued up to 2 s after the
// call (its clock may run ahead of ours) is rejected; one issued later is
// accepted.
func TestRevokeUserAllowsForSkew(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	require.NoError(t, v.RevokeUser(context.Background(), alice.UserID))
	now := srv.Now()
	soon := srv.Token(alice, lwatest.WithIssuedAt(now.Add(time.Second)))
	_, err := v.Verify(context.Background(), soon)
	require.ErrorIs(t, err, core.ErrInvalidToken, "issued 1 s after the call by Amazon's clock")
	later := srv.Token(alice, lwatest.WithIssuedAt(now.Add(4*time.Second)))
	requireVerified(t, v, later, alice)
}

// failingRT fails every call to Amazon: with a 500, or with a panic.
type failingRT struct {
	panics bool
}

func (f *failingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.panics {
		panic("boom")
	}
	return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/json"}},
		Body: http.NoBody, Request: r}, nil
}

// TestBreakerPanickingProbeIsReleased: a probe that panics counts as a
// failure and frees the probe slot: the breaker keeps probing instead of
// staying open until a restart.
func TestBreakerPanickingProbeIsReleased(t *testing.T) {
	srv := lwatest.Start(t)
	rt := &failingRT{panics: true}
	v := srv.Verifier(t, core.WithHTTPClient(&http.Client{Transport: rt}), core.WithCircuitBreaker(1, time.Second))
	for i := range 4 {
		_, err := v.Verify(context.Background(), fmt.Sprintf("Atza|probe-%d", i))
		require.ErrorIs(t, err, core.ErrUpstream, "round %d: the panic is a 502", i)
		_, err = v.Verify(context.Background(), fmt.Sprintf("Atza|shut-%d", i))
		require.ErrorIs(t, err, core.ErrUpstreamUnavailable, "round %d: open", i)
		srv.Advance(1100 * time.Millisecond) // half-open again: the probe was released
	}
}

// TestBreakerCountsDistinctTokens: one odd token failing again and again
// does not open the breaker for everybody.
func TestBreakerCountsDistinctTokens(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithCircuitBreaker(3, time.Minute))
	odd := srv.Token(alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError, Times: 10})
	for range 10 {
		_, err := v.Verify(context.Background(), odd)
		require.ErrorIs(t, err, core.ErrUpstream)
	}
	requireVerified(t, v, srv.Token(alice), alice) // not 503
}

// TestBreakerIgnoresLocalOverload: verifications that never got a
// concurrency slot in time never asked Amazon and open nothing.
func TestBreakerIgnoresLocalOverload(t *testing.T) {
	srv := lwatest.Start(t)
	g := newGate()
	v := srv.Verifier(t, core.WithObserver(g), core.WithConcurrency(1, 100),
		core.WithTimeout(50*time.Millisecond), core.WithCircuitBreaker(2, time.Minute))
	holder := verifyAsync(v, srv.Token(alice))
	g.wait(t, 1)
	for i := range 5 {
		_, err := v.Verify(context.Background(), srv.Token(alice))
		require.ErrorIs(t, err, core.ErrUpstreamTimeout, "%d: no slot in time", i)
	}
	g.release()
	// The holder ran out of time while held: one failure, under the threshold.
	require.ErrorIs(t, recv(t, holder), core.ErrUpstreamTimeout)
	requireVerified(t, v, srv.Token(alice), alice) // the breaker stayed closed: the queue's timeouts never counted
}

// TestBreakerOpensWhileAmazonHangs: calls still under way past the hang
// threshold (1 s) count as failed at once: a hanging Amazon opens the
// breaker without waiting for WithTimeout.
func TestBreakerOpensWhileAmazonHangs(t *testing.T) {
	srv := lwatest.Start(t)
	g := newGate()
	v := srv.Verifier(t, core.WithObserver(g), core.WithTimeout(time.Minute), core.WithCircuitBreaker(5, 10*time.Second))
	var hung []<-chan error
	for range 5 {
		hung = append(hung, verifyAsync(v, srv.Token(alice)))
	}
	g.wait(t, 5)
	requireVerifiedOrUnavailable := func() error {
		_, err := v.Verify(context.Background(), srv.Token(alice))
		return err
	}
	srv.Advance(500 * time.Millisecond)
	g.armed.Store(false) // a call that gets through is not held
	require.NoError(t, requireVerifiedOrUnavailable(), "under the threshold: still closed")
	srv.Advance(600 * time.Millisecond) // 1.1 s: every held call counts as failed
	err := requireVerifiedOrUnavailable()
	require.ErrorIs(t, err, core.ErrUpstreamUnavailable, "open while the calls still hang")
	assert.NotEmpty(t, core.AsError(err).RetryAfter)
	g.release()
	for _, c := range hung {
		require.NoError(t, recv(t, c))
	}
	requireVerified(t, v, srv.Token(alice), alice) // Amazon answered: closed again
}

// TestRefreshAheadRetriedAfterFailure: a refresh that fails is tried again
// by a later use in the window, so a token in steady use never waits.
func TestRefreshAheadRetriedAfterFailure(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithCacheTTL(100*time.Second), core.WithRefreshAhead(0.2))
	tok := srv.Token(alice)
	requireVerified(t, v, tok, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError, Times: 1})
	srv.Advance(85 * time.Second)
	requireVerified(t, v, tok, alice) // from memory; the refresh fails
	require.Eventually(t, func() bool { return srv.CallCount(lwatest.EndpointTokenInfo) == 2 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool {
		requireVerified(t, v, tok, alice) // from memory; tries again
		return srv.CallCount(lwatest.EndpointTokenInfo) >= 3 && srv.CallCount(lwatest.EndpointProfile) >= 3
	}, 5*time.Second, 5*time.Millisecond, "a later use refreshed again")
	calls := srv.CallCount(lwatest.EndpointTokenInfo)
	srv.Advance(20 * time.Second) // past the first entry's end: the refreshed one serves
	requireVerified(t, v, tok, alice)
	assert.Equal(t, calls, srv.CallCount(lwatest.EndpointTokenInfo), "nobody waited for Amazon")
}

// TestDoneContextStartsNothing: a caller whose context has already ended
// starts no verification.
func TestDoneContextStartsNothing(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := runtime.NumGoroutine()
	for i := range 100 {
		_, err := v.Verify(ctx, fmt.Sprintf("Atza|gone-%d", i))
		require.ErrorIs(t, err, context.Canceled)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before+2)
	assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestQueuedFlightsEndAtOnce: verifications waiting for a slot hold no
// goroutine, and leave at once when their callers do.
func TestQueuedFlightsEndAtOnce(t *testing.T) {
	m := &memLWA{gate: make(chan struct{})}
	obs := &waitObserver{}
	v := memVerifier(t, m, core.WithConcurrency(1, 5000), core.WithObserver(obs), core.WithTimeout(time.Minute))
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const n = 2000
	for i := range n {
		wg.Go(func() { _, _ = v.Verify(ctx, fmt.Sprintf("Atza|queued-%d", i)) })
	}
	require.Eventually(t, func() bool { return obs.waiting.Load() == n-1 }, 30*time.Second, time.Millisecond)
	cancel()
	wg.Wait()
	require.Eventually(t, func() bool { return obs.waiting.Load() == 0 }, time.Second, time.Millisecond, "the queue emptied at once")
	// The one holding the slot is still asking; nothing else is left.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+8 }, time.Second, time.Millisecond,
		"goroutines right after the callers left: %d (baseline %d)", runtime.NumGoroutine(), base)
	close(m.gate)
	assert.Equal(t, int64(1), m.calls.Load(), "only the flight holding the slot asked Amazon")
}
