package otellwa_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
	"github.com/go-lwa/lwa/redislwa"
)

var alice = core.Profile{UserID: "amzn1.account.ALICE", Email: "alice.liddell@example.com", Name: "Alice Liddell", PostalCode: "ZIP-7731"}

// TestIntegrationBreaker: a real Verifier against a failing lwatest opens
// its breaker, probes it half-open after the cooldown, and closes it when
// Amazon answers again; lwa.breaker.state follows, and
// lwa.breaker.transitions counts every state entered.
func TestIntegrationBreaker(t *testing.T) {
	f := newFixture(t)
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithObserver(f.obs), core.WithCircuitBreaker(2, time.Second))
	state := func() map[string]int64 { return gaugeOf(t, f.collect(t)["lwa.breaker.state"]) }
	transitions := func() map[string]int64 { return sumOf(t, f.collect(t)["lwa.breaker.transitions"], true) }
	closed := map[string]int64{"lwa.breaker.state=closed": 1, "lwa.breaker.state=open": 0, "lwa.breaker.state=half_open": 0}
	open := map[string]int64{"lwa.breaker.state=closed": 0, "lwa.breaker.state=open": 1, "lwa.breaker.state=half_open": 0}
	assert.Equal(t, closed, state())

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
	for range 2 {
		_, err := v.Verify(ctx, srv.Token(alice))
		requireCode(t, err, core.CodeServerError)
	}
	_, err := v.Verify(ctx, srv.Token(alice))
	require.ErrorIs(t, err, core.ErrUpstreamUnavailable, "two failures open the breaker")
	assert.Equal(t, open, state())
	assert.Equal(t, map[string]int64{"lwa.breaker.state=closed": 0, "lwa.breaker.state=open": 1, "lwa.breaker.state=half_open": 0}, transitions())

	srv.Advance(time.Second) // the probe, still failing, opens it again
	_, err = v.Verify(ctx, srv.Token(alice))
	requireCode(t, err, core.CodeServerError)
	assert.Equal(t, open, state())
	assert.Equal(t, map[string]int64{"lwa.breaker.state=closed": 0, "lwa.breaker.state=open": 2, "lwa.breaker.state=half_open": 1}, transitions())

	srv.Recover()
	srv.Advance(time.Second) // the next probe succeeds and closes it
	_, err = v.Verify(ctx, srv.Token(alice))
	require.NoError(t, err)
	assert.Equal(t, closed, state())
	assert.Equal(t, map[string]int64{"lwa.breaker.state=closed": 1, "lwa.breaker.state=open": 2, "lwa.breaker.state=half_open": 2}, transitions())
}

// TestIntegrationStale: while Amazon fails, a Verifier with
// WithStaleIfError serves an entry past its TTL; lwa.stale.served counts it
// and lwa.stale.age records how far past (the fake's clock moves 80 s with a
// 60 s TTL: 20 s).
func TestIntegrationStale(t *testing.T) {
	f := newFixture(t)
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithObserver(f.obs), core.WithCacheTTL(time.Minute), core.WithStaleIfError(5*time.Minute), core.WithRefreshAhead(0))
	tok := srv.Token(alice)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, f.collect(t)["lwa.stale.served"], true))

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 503})
	srv.Advance(80 * time.Second)
	for range 2 {
		p, err := v.Verify(ctx, tok)
		require.NoError(t, err, "served stale")
		assert.Equal(t, alice.Email, p.Email)
	}
	m := f.collect(t)
	assert.Equal(t, map[string]int64{"": 2}, sumOf(t, m["lwa.stale.served"], true))
	h := histsOf(t, m["lwa.stale.age"], staleBounds)[""]
	assert.Equal(t, uint64(2), h.Count)
	assert.InDelta(t, 40, h.Sum, 0.5, "20 s past the TTL, twice")
	assert.Equal(t, uint64(2), h.Counts[bucketOf(staleBounds, 20)])
	requireNoSecret(t, f.outputStrings(t), tok, alice.Email, alice.Name, alice.PostalCode)
}

// staleSpy forwards to an otellwa Observer and counts the stale events core
// sends, whatever their staleness.
type staleSpy struct {
	*otellwa.Observer
	events, negative atomic.Int64
}

func (s *staleSpy) StaleServed(ctx context.Context, ev observe.StaleEvent) {
	s.events.Add(1)
	if ev.Staleness < 0 {
		s.negative.Add(1)
	}
	s.Observer.StaleServed(ctx, ev)
}

// TestIntegrationFailedRefreshIsNotStale: a refresh ahead of expiry that
// fails while the entry is still trusted serves nobody stale: the request
// that triggered it was answered from the cache, within its TTL. It is not
// counted in lwa.stale.served, whatever core reports for it.
func TestIntegrationFailedRefreshIsNotStale(t *testing.T) {
	f := newFixture(t)
	spy := &staleSpy{Observer: f.obs}
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithObserver(spy), core.WithCacheTTL(time.Minute), core.WithStaleIfError(5*time.Minute), core.WithRefreshAhead(0.2))
	tok := srv.Token(alice)
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 503})
	srv.Advance(50 * time.Second) // in the last 20 % of the TTL: a refresh starts, and fails
	_, err = v.Verify(ctx, tok)
	require.NoError(t, err, "served from the cache, within its TTL")
	require.NoError(t, v.Close()) // waits for the refresh
	require.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo), "the refresh asked Amazon")
	t.Logf("core sent %d stale events, %d with a negative staleness", spy.events.Load(), spy.negative.Load())
	m := f.collect(t)
	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, m["lwa.stale.served"], true))
	assert.NotContains(t, m, "lwa.stale.age")
}

// fleetKey and otherKey are two fleets' keys: a replica with otherKey is
// what an attacker who can write to Redis but lacks the fleet key looks
// like.
var (
	fleetKey = []byte("otellwa tests: the fleet's own key, 32+ bytes")
	otherKey = []byte("otellwa tests: somebody else's key, 32+ bytes")
)

// replica is a Verifier with a shared cache on rs, observed by its own
// Observer.
func replica(t *testing.T, srv *lwatest.Server, rs *redistest.Server, key []byte) (*core.Verifier, *fixture) {
	t.Helper()
	f := newFixture(t)
	// A generous Redis timeout: under -race on a shared machine the
	// default 50 ms can expire, and the tier would back off.
	v := srv.Verifier(t, core.WithObserver(f.obs),
		core.WithSharedCache(redislwa.New(rs.Client(t), redislwa.WithTimeout(2*time.Second))), core.WithSharedKeys(key))
	return v, f
}

// eventually polls cond every 5 ms until it holds or 10 s have passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIntegrationSharedTier: two replicas on a real redis-server. A token
// verified by one is served by the other from Redis; a revocation sent by
// one is received by the other, with its lag; the calls are counted by
// operation and outcome; values and messages written by a replica with
// another key, and junk, are counted as forgeries; nothing carries a
// token or the customer's data.
func TestIntegrationSharedTier(t *testing.T) {
	rs := redistest.Start(t)
	srv := lwatest.Start(t)
	a, fa := replica(t, srv, rs, fleetKey)
	b, fb := replica(t, srv, rs, fleetKey)

	tok := srv.Token(alice)
	_, err := a.Verify(ctx, tok)
	require.NoError(t, err)
	_, err = b.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "b was served from Redis")

	ma := fa.collect(t)
	assert.Equal(t, map[string]int64{"lwa.shared.state=healthy": 1, "lwa.shared.state=backoff": 0}, gaugeOf(t, ma["lwa.shared.state"]))
	callsA := sumOf(t, ma["lwa.shared.calls"], true)
	assert.Positive(t, callsA["lwa.shared.operation=get,lwa.shared.outcome=ok"])
	assert.Positive(t, callsA["lwa.shared.operation=set,lwa.shared.outcome=ok"], "a stored what it verified")
	for k, n := range callsA {
		if !strings.HasSuffix(k, "outcome=ok") {
			assert.Zero(t, n, k)
		}
	}
	dur := histsOf(t, ma["lwa.shared.duration"], sharedBounds)
	assert.Equal(t, uint64(callsA["lwa.shared.operation=get,lwa.shared.outcome=ok"]), dur["lwa.shared.operation=get"].Count)
	assert.Positive(t, sumOf(t, fb.collect(t)["lwa.cache.lookups"], true)["lwa.cache.result=hit,lwa.cache.tier=shared"])

	// A revocation on a reaches b through Redis, with its lag.
	require.NoError(t, a.Revoke(ctx, tok))
	received := func(f *fixture, kind string) int64 {
		return sumOf(t, f.collect(t)["lwa.revocations"], true)["lwa.revocation.direction=received,lwa.revocation.kind="+kind]
	}
	eventually(t, "b receives a's revocation", func() bool { return received(fb, "token") == 1 })
	assert.Equal(t, int64(1), sumOf(t, fa.collect(t)["lwa.revocations"], true)["lwa.revocation.direction=sent,lwa.revocation.kind=token"])
	assert.Zero(t, received(fa, "token"), "a does not receive its own message")
	lag := histsOf(t, fb.collect(t)["lwa.revocation.lag"], lagBounds)
	require.Contains(t, lag, "lwa.revocation.kind=token")
	assert.Equal(t, uint64(1), lag["lwa.revocation.kind=token"].Count)
	assert.Less(t, lag["lwa.revocation.kind=token"].Sum, 5.0, "a loopback Redis takes milliseconds")
	assert.Positive(t, sumOf(t, fa.collect(t)["lwa.shared.calls"], true)["lwa.shared.operation=publish,lwa.shared.outcome=ok"])

	// A replica with another key: what it stores does not open for b, what
	// it publishes does not authenticate for a and b.
	c, _ := replica(t, srv, rs, otherKey)
	forged := srv.Token(alice)
	_, err = c.Verify(ctx, forged)
	require.NoError(t, err)
	_, err = b.Verify(ctx, forged)
	require.NoError(t, err, "b verified it itself")
	forgeries := func(f *fixture) map[string]int64 { return sumOf(t, f.collect(t)["lwa.shared.forgeries"], true) }
	assert.Positive(t, forgeries(fb)["lwa.shared.forgery=value"], "c's sealed value")
	require.NoError(t, c.Revoke(ctx, srv.Token(alice)))
	for _, f := range []*fixture{fa, fb} {
		eventually(t, "a forged message counted", func() bool { return forgeries(f)["lwa.shared.forgery=message"] >= 1 })
	}

	// Junk: a message and a value of no known format.
	rdb := rs.Client(t)
	require.NoError(t, rdb.Publish(ctx, redislwa.DefaultChannel, "not a message").Err())
	for _, f := range []*fixture{fa, fb} {
		eventually(t, "an unreadable message counted", func() bool { return forgeries(f)["lwa.shared.forgery=unreadable"] >= 1 })
	}
	junk := srv.Token(alice)
	_, err = a.Verify(ctx, junk)
	require.NoError(t, err)
	keys, err := rdb.Keys(ctx, redislwa.DefaultPrefix+"*:e").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		require.NoError(t, rdb.Set(ctx, k, "junk", time.Minute).Err())
	}
	before := forgeries(fb)["lwa.shared.forgery=unreadable"]
	_, err = b.Verify(ctx, junk)
	require.NoError(t, err)
	assert.Equal(t, before+1, forgeries(fb)["lwa.shared.forgery=unreadable"], "the junk value")

	for _, f := range []*fixture{fa, fb} {
		requireNoSecret(t, f.outputStrings(t), tok, forged, junk, alice.Email, alice.Name, alice.PostalCode, alice.UserID)
	}
}

// TestIntegrationSharedBackoff: when Redis goes away, the shared tier backs
// off: lwa.shared.state says so, the failed call is counted as an error and
// the calls skipped during the backoff as skipped.
func TestIntegrationSharedBackoff(t *testing.T) {
	rs := redistest.Start(t)
	srv := lwatest.Start(t)
	v, f := replica(t, srv, rs, fleetKey)
	_, err := v.Verify(ctx, srv.Token(alice))
	require.NoError(t, err)
	rs.Stop()

	for range 3 {
		_, err := v.Verify(ctx, srv.Token(alice))
		require.NoError(t, err, "Redis trouble never fails a request")
	}
	m := f.collect(t)
	assert.Equal(t, map[string]int64{"lwa.shared.state=healthy": 0, "lwa.shared.state=backoff": 1}, gaugeOf(t, m["lwa.shared.state"]))
	calls := sumOf(t, m["lwa.shared.calls"], true)
	assert.Positive(t, calls["lwa.shared.operation=get,lwa.shared.outcome=error"]+calls["lwa.shared.operation=get,lwa.shared.outcome=timeout"],
		"the call that found Redis gone")
	assert.Positive(t, calls["lwa.shared.operation=get,lwa.shared.outcome=skipped"], "the calls skipped after it")
}
