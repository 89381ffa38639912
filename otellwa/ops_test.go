package otellwa_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/go-lwa/lwa/core/observe"
)

// histogram is a histogram data point, as the tests of the operators'
// instruments check it.
type histogram struct {
	Count  uint64
	Sum    float64
	Counts []uint64 // per bucket
}

// histsOf checks that m is a float64 histogram whose points all have the
// given bucket boundaries, and returns its points.
func histsOf(t testing.TB, m metricdata.Metrics, bounds []float64) map[string]histogram {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.Truef(t, ok, "%s: %T, want a float64 histogram", m.Name, m.Data)
	out := map[string]histogram{}
	for _, dp := range h.DataPoints {
		require.Equal(t, bounds, dp.Bounds, m.Name)
		out[key(dp.Attributes)] = histogram{Count: dp.Count, Sum: dp.Sum, Counts: dp.BucketCounts}
	}
	return out
}

// bucketOf returns the index of the bucket of bounds that v falls in
// (OpenTelemetry's buckets are (lower, upper]).
func bucketOf(bounds []float64, v float64) int {
	for i, b := range bounds {
		if v <= b {
			return i
		}
	}
	return len(bounds)
}

// oneIn returns bucket counts with a 1 in the bucket of v.
func oneIn(bounds []float64, v float64) []uint64 {
	c := make([]uint64, len(bounds)+1)
	c[bucketOf(bounds, v)] = 1
	return c
}

var (
	staleBounds  = []float64{1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600}
	lagBounds    = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	sharedBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
)

// TestBreakerInstruments: lwa.breaker.transitions counts the states entered
// (every state reported from the start, at 0; an unknown one not counted);
// lwa.breaker.state counts the attached Verifiers in each state, read at
// collection time, and has no series without a Verifier.
func TestBreakerInstruments(t *testing.T) {
	f := newFixture(t)
	m := f.collect(t)
	assert.Equal(t, map[string]int64{
		"lwa.breaker.state=closed":    0,
		"lwa.breaker.state=open":      0,
		"lwa.breaker.state=half_open": 0,
	}, sumOf(t, m["lwa.breaker.transitions"], true))
	assert.NotContains(t, m, "lwa.breaker.state", "no Verifier: no breaker")

	for _, ev := range []observe.BreakerEvent{
		{From: observe.BreakerClosed, To: observe.BreakerOpen},
		{From: observe.BreakerOpen, To: observe.BreakerHalfOpen},
		{From: observe.BreakerHalfOpen, To: observe.BreakerOpen},
		{From: observe.BreakerOpen, To: observe.BreakerHalfOpen},
		{From: observe.BreakerHalfOpen, To: observe.BreakerClosed},
		{From: observe.BreakerClosed, To: 0},
		{From: observe.BreakerClosed, To: 42},
	} {
		f.obs.BreakerChange(ctx, ev)
	}
	a := observe.Stats{Breaker: observe.BreakerOpen}
	f.obs.Attach(func() observe.Stats { return a })
	f.obs.Attach(func() observe.Stats { return observe.Stats{Breaker: observe.BreakerClosed} })
	m = f.collect(t)
	assert.Equal(t, map[string]int64{
		"lwa.breaker.state=closed":    1,
		"lwa.breaker.state=open":      2,
		"lwa.breaker.state=half_open": 2,
	}, sumOf(t, m["lwa.breaker.transitions"], true))
	assert.Equal(t, map[string]int64{
		"lwa.breaker.state=closed":    1,
		"lwa.breaker.state=open":      1,
		"lwa.breaker.state=half_open": 0,
	}, gaugeOf(t, m["lwa.breaker.state"]))

	a = observe.Stats{Breaker: observe.BreakerHalfOpen}
	assert.Equal(t, map[string]int64{
		"lwa.breaker.state=closed":    1,
		"lwa.breaker.state=open":      0,
		"lwa.breaker.state=half_open": 1,
	}, gaugeOf(t, f.collect(t)["lwa.breaker.state"]), "read at collection time")
}

// TestStaleInstruments: lwa.stale.served counts every stale answer (0 from
// the start) and lwa.stale.age records how far past the TTL, in seconds; an
// event with a negative staleness (its entry was still trusted: nothing was
// served stale) is not counted.
func TestStaleInstruments(t *testing.T) {
	f := newFixture(t)
	m := f.collect(t)
	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, m["lwa.stale.served"], true))
	assert.NotContains(t, m, "lwa.stale.age", "nothing served stale yet")

	for _, d := range []time.Duration{500 * time.Millisecond, 20 * time.Second, 20 * time.Second, 10 * time.Minute, -time.Second} {
		f.obs.StaleServed(ctx, observe.StaleEvent{Staleness: d})
	}
	f.obs.StaleServed(ctx, observe.StaleEvent{Staleness: 0})
	m = f.collect(t)
	assert.Equal(t, map[string]int64{"": 5}, sumOf(t, m["lwa.stale.served"], true))
	h := histsOf(t, m["lwa.stale.age"], staleBounds)
	require.Contains(t, h, "")
	assert.Equal(t, uint64(5), h[""].Count)
	assert.InDelta(t, 0.5+20+20+600+0, h[""].Sum, 1e-9)
	want := make([]uint64, len(staleBounds)+1)
	want[0] = 2 // 0.5 s and 0 s
	want[bucketOf(staleBounds, 20)] = 2
	want[bucketOf(staleBounds, 600)] = 1
	assert.Equal(t, want, h[""].Counts)
}

// TestRevocationInstruments: lwa.revocations by kind and direction (every
// combination from the start, at 0); lwa.revocation.lag by kind, for
// received revocations only, a negative lag (clock skew) recorded as 0.
func TestRevocationInstruments(t *testing.T) {
	f := newFixture(t)
	zero := map[string]int64{}
	for _, k := range []string{"forget", "token", "user"} {
		for _, d := range []string{"sent", "received"} {
			zero["lwa.revocation.direction="+d+",lwa.revocation.kind="+k] = 0
		}
	}
	m := f.collect(t)
	assert.Equal(t, zero, sumOf(t, m["lwa.revocations"], true))
	assert.NotContains(t, m, "lwa.revocation.lag")

	for _, ev := range []observe.RevocationEvent{
		{Kind: observe.RevokeForget},
		{Kind: observe.RevokeToken},
		{Kind: observe.RevokeToken},
		{Kind: observe.RevokeUser},
		{Kind: observe.RevokeToken, Received: true, Lag: 3 * time.Millisecond},
		{Kind: observe.RevokeToken, Received: true, Lag: 2 * time.Second},
		{Kind: observe.RevokeUser, Received: true, Lag: -5 * time.Millisecond},
		{Kind: observe.RevokeForget, Received: true, Lag: 40 * time.Millisecond},
		{Kind: 0, Received: true, Lag: time.Second},
		{Kind: 9, Lag: time.Second},
	} {
		f.obs.Revocation(ctx, ev)
	}
	m = f.collect(t)
	assert.Equal(t, map[string]int64{
		"lwa.revocation.direction=sent,lwa.revocation.kind=forget":     1,
		"lwa.revocation.direction=received,lwa.revocation.kind=forget": 1,
		"lwa.revocation.direction=sent,lwa.revocation.kind=token":      2,
		"lwa.revocation.direction=received,lwa.revocation.kind=token":  2,
		"lwa.revocation.direction=sent,lwa.revocation.kind=user":       1,
		"lwa.revocation.direction=received,lwa.revocation.kind=user":   1,
	}, sumOf(t, m["lwa.revocations"], true))
	h := histsOf(t, m["lwa.revocation.lag"], lagBounds)
	tokenCounts := oneIn(lagBounds, 0.003)
	tokenCounts[bucketOf(lagBounds, 2)]++
	assert.Equal(t, map[string]histogram{
		"lwa.revocation.kind=token":  {Count: 2, Sum: 2.003, Counts: tokenCounts},
		"lwa.revocation.kind=user":   {Count: 1, Sum: 0, Counts: oneIn(lagBounds, 0)},
		"lwa.revocation.kind=forget": {Count: 1, Sum: 0.04, Counts: oneIn(lagBounds, 0.04)},
	}, roundSums(h))
}

// roundSums rounds the sums of h to the microsecond, for comparisons.
func roundSums(h map[string]histogram) map[string]histogram {
	for k, v := range h {
		v.Sum = float64(time.Duration(v.Sum*float64(time.Second)).Round(time.Microsecond).Microseconds()) / 1e6
		h[k] = v
	}
	return h
}

// TestSharedInstruments: nothing about a shared tier is reported until one
// shows up; then lwa.shared.calls by operation and outcome (every
// combination, at 0 from then on), lwa.shared.duration by operation for
// calls made (not for skipped ones), lwa.shared.state counting the
// Verifiers in each state, and lwa.shared.forgeries by what was wrong.
func TestSharedInstruments(t *testing.T) {
	f := newFixture(t)
	a := observe.Stats{Breaker: observe.BreakerClosed}
	f.obs.Attach(func() observe.Stats { return a })
	m := f.collect(t)
	for _, name := range []string{"lwa.shared.calls", "lwa.shared.duration", "lwa.shared.state", "lwa.shared.forgeries"} {
		assert.NotContains(t, m, name, "no shared tier configured")
	}

	a.Shared = observe.SharedHealthy
	m = f.collect(t)
	assert.Equal(t, map[string]int64{"lwa.shared.state=healthy": 1, "lwa.shared.state=backoff": 0}, gaugeOf(t, m["lwa.shared.state"]))
	calls := sumOf(t, m["lwa.shared.calls"], true)
	assert.Len(t, calls, 5*4, "every operation × outcome")
	for k, n := range calls {
		assert.Zero(t, n, k)
	}
	assert.Equal(t, map[string]int64{
		"lwa.shared.forgery=value":      0,
		"lwa.shared.forgery=message":    0,
		"lwa.shared.forgery=unreadable": 0,
	}, sumOf(t, m["lwa.shared.forgeries"], true))

	for _, ev := range []observe.SharedCallEvent{
		{Op: observe.SharedGet, Outcome: observe.SharedOK, Duration: 300 * time.Microsecond},
		{Op: observe.SharedGet, Outcome: observe.SharedOK, Duration: 2 * time.Millisecond},
		{Op: observe.SharedGet, Outcome: observe.SharedTimeout, Duration: 50 * time.Millisecond},
		{Op: observe.SharedGet, Outcome: observe.SharedSkipped},
		{Op: observe.SharedGet, Outcome: observe.SharedSkipped},
		{Op: observe.SharedSet, Outcome: observe.SharedError, Duration: time.Millisecond},
		{Op: observe.SharedSetNX, Outcome: observe.SharedOK, Duration: time.Millisecond},
		{Op: observe.SharedDelete, Outcome: observe.SharedOK, Duration: time.Millisecond},
		{Op: observe.SharedPublish, Outcome: observe.SharedOK, Duration: time.Millisecond},
		{Op: 0, Outcome: observe.SharedOK},
		{Op: observe.SharedGet, Outcome: 0},
		{Op: 6, Outcome: observe.SharedOK},
		{Op: observe.SharedGet, Outcome: 5},
	} {
		f.obs.SharedCall(ctx, ev)
	}
	for _, fg := range []observe.Forgery{observe.ForgedValue, observe.ForgedMessage, observe.ForgedMessage, observe.Unreadable, 0, 4} {
		f.obs.SharedForgery(ctx, fg)
	}
	a.Shared = observe.SharedBackoff
	f.obs.Attach(func() observe.Stats {
		return observe.Stats{Breaker: observe.BreakerClosed, Shared: observe.SharedHealthy}
	})
	f.obs.Attach(func() observe.Stats { return observe.Stats{Breaker: observe.BreakerClosed} }) // no shared tier

	m = f.collect(t)
	assert.Equal(t, map[string]int64{"lwa.shared.state=healthy": 1, "lwa.shared.state=backoff": 1}, gaugeOf(t, m["lwa.shared.state"]))
	calls = sumOf(t, m["lwa.shared.calls"], true)
	nonZero := map[string]int64{}
	for k, n := range calls {
		if n != 0 {
			nonZero[k] = n
		}
	}
	assert.Len(t, calls, 5*4)
	assert.Equal(t, map[string]int64{
		"lwa.shared.operation=get,lwa.shared.outcome=ok":      2,
		"lwa.shared.operation=get,lwa.shared.outcome=timeout": 1,
		"lwa.shared.operation=get,lwa.shared.outcome=skipped": 2,
		"lwa.shared.operation=set,lwa.shared.outcome=error":   1,
		"lwa.shared.operation=setnx,lwa.shared.outcome=ok":    1,
		"lwa.shared.operation=delete,lwa.shared.outcome=ok":   1,
		"lwa.shared.operation=publish,lwa.shared.outcome=ok":  1,
	}, nonZero)
	getCounts := oneIn(sharedBounds, 0.0003)
	getCounts[bucketOf(sharedBounds, 0.002)]++
	getCounts[bucketOf(sharedBounds, 0.05)]++
	ms := oneIn(sharedBounds, 0.001)
	assert.Equal(t, map[string]histogram{
		"lwa.shared.operation=get":     {Count: 3, Sum: 0.0523, Counts: getCounts},
		"lwa.shared.operation=set":     {Count: 1, Sum: 0.001, Counts: ms},
		"lwa.shared.operation=setnx":   {Count: 1, Sum: 0.001, Counts: ms},
		"lwa.shared.operation=delete":  {Count: 1, Sum: 0.001, Counts: ms},
		"lwa.shared.operation=publish": {Count: 1, Sum: 0.001, Counts: ms},
	}, roundSums(histsOf(t, m["lwa.shared.duration"], sharedBounds)), "skipped calls have no duration")
	assert.Equal(t, map[string]int64{
		"lwa.shared.forgery=value":      1,
		"lwa.shared.forgery=message":    2,
		"lwa.shared.forgery=unreadable": 1,
	}, sumOf(t, m["lwa.shared.forgeries"], true))
}

// TestSharedSeenByEvent: a shared-tier event alone (no Verifier reporting
// a shared tier) makes the shared-tier counters appear.
func TestSharedSeenByEvent(t *testing.T) {
	f := newFixture(t)
	f.obs.SharedForgery(ctx, observe.Unreadable)
	m := f.collect(t)
	assert.Equal(t, int64(1), sumOf(t, m["lwa.shared.forgeries"], true)["lwa.shared.forgery=unreadable"])
	assert.Contains(t, m, "lwa.shared.calls")
	assert.NotContains(t, m, "lwa.shared.state", "no Verifier reports a shared tier")
}

// TestOpsHooksAllocateNothing: the hooks of the operators' instruments
// make no allocation on a real SDK MeterProvider (a breaker change, a stale
// answer, a revocation, a shared call or a forgery may come once per
// request during an incident).
func TestOpsHooksAllocateNothing(t *testing.T) {
	f := newFixture(t)
	o := f.obs
	hooks := map[string]func(){
		"BreakerChange": func() {
			o.BreakerChange(ctx, observe.BreakerEvent{From: observe.BreakerClosed, To: observe.BreakerOpen})
		},
		"StaleServed": func() { o.StaleServed(ctx, observe.StaleEvent{Staleness: 3 * time.Second}) },
		"Revocation sent": func() {
			o.Revocation(ctx, observe.RevocationEvent{Kind: observe.RevokeToken})
		},
		"Revocation received": func() {
			o.Revocation(ctx, observe.RevocationEvent{Kind: observe.RevokeUser, Received: true, Lag: time.Millisecond})
		},
		"SharedCall": func() {
			o.SharedCall(ctx, observe.SharedCallEvent{Op: observe.SharedGet, Outcome: observe.SharedOK, Duration: time.Millisecond})
		},
		"SharedCall skipped": func() {
			o.SharedCall(ctx, observe.SharedCallEvent{Op: observe.SharedSet, Outcome: observe.SharedSkipped})
		},
		"SharedForgery": func() { o.SharedForgery(ctx, observe.ForgedMessage) },
	}
	for name, hook := range hooks {
		hook() // the first measurement of an attribute set creates its aggregator
		assert.Zero(t, testing.AllocsPerRun(200, hook), name)
	}
	f.collect(t) // and they were recorded
}
