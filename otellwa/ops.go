package otellwa

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/go-lwa/lwa/core/observe"
)

// The operators' instruments: what an on-call engineer asks during an
// incident. Is the breaker open? How many answers were served stale, and
// how stale? How long do revocations take to reach the other replicas? Is
// the shared tier healthy? Did anyone write forged values or messages?
//
// Counters are atomics read at collection time, like lwa.requests: every
// known attribute combination is reported from the start, at 0, and a
// hook costs an atomic add. Histograms are synchronous instruments with
// precomputed attribute sets: no hook allocates.

// Histogram bucket boundaries, in seconds.
var (
	// staleAgeBuckets: from a second past the TTL to the hour a token
	// lives at most.
	staleAgeBuckets = []float64{1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600}
	// lagBuckets: from a millisecond (replicas on one host) to tens of
	// seconds (a backed-up subscription); 1 s is a boundary, the alert's
	// threshold.
	lagBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// sharedBuckets: a loopback Redis answers in a fraction of a
	// millisecond; redislwa's default timeout is 50 ms.
	sharedBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
)

// opsCounts are the operators' counters, read by collect.
type opsCounts struct {
	transitions [numBreakerStates]atomic.Int64
	stale       atomic.Int64
	revocations [numRevocationBuckets]atomic.Int64
	sharedCalls [numSharedCallBuckets]atomic.Int64
	forgeries   [numForgeries]atomic.Int64
	// sharedSeen is set once a shared tier has shown up (a Verifier
	// reporting one, a call, a forgery): the shared-tier counters are
	// reported from then on, and not at all by a service without one.
	sharedSeen atomic.Bool
}

// opsInstruments are the operators' instruments.
type opsInstruments struct {
	breakerState   metric.Int64ObservableGauge
	transitions    metric.Int64ObservableCounter
	staleServed    metric.Int64ObservableCounter
	revocations    metric.Int64ObservableCounter
	sharedCalls    metric.Int64ObservableCounter
	sharedState    metric.Int64ObservableGauge
	forgeries      metric.Int64ObservableCounter
	staleAge       metric.Float64Histogram
	revocationLag  metric.Float64Histogram
	sharedDuration metric.Float64Histogram
}

// newOpsInstruments creates the operators' instruments on meter.
func newOpsInstruments(meter metric.Meter) (ins opsInstruments, err error) {
	if ins.breakerState, err = meter.Int64ObservableGauge("lwa.breaker.state",
		metric.WithUnit("{verifier}"),
		metric.WithDescription("Verifiers whose circuit breaker in front of Amazon is in each state (1 for the current state, 0 for the others, with one Verifier).")); err != nil {
		return ins, err
	}
	if ins.transitions, err = meter.Int64ObservableCounter("lwa.breaker.transitions",
		metric.WithUnit("{transition}"),
		metric.WithDescription("Changes of the circuit breaker's state, by the state entered.")); err != nil {
		return ins, err
	}
	if ins.staleServed, err = meter.Int64ObservableCounter("lwa.stale.served",
		metric.WithUnit("{answer}"),
		metric.WithDescription("Answers served stale, past their cache TTL, while Amazon failed (WithStaleIfError).")); err != nil {
		return ins, err
	}
	if ins.staleAge, err = meter.Float64Histogram("lwa.stale.age",
		metric.WithUnit("s"),
		metric.WithDescription("How long past its cache TTL an answer served stale was."),
		metric.WithExplicitBucketBoundaries(staleAgeBuckets...)); err != nil {
		return ins, err
	}
	if ins.revocations, err = meter.Int64ObservableCounter("lwa.revocations",
		metric.WithUnit("{revocation}"),
		metric.WithDescription("Forget, Revoke and RevokeUser sent by this process, and received from other replicas through the shared cache.")); err != nil {
		return ins, err
	}
	if ins.revocationLag, err = meter.Float64Histogram("lwa.revocation.lag",
		metric.WithUnit("s"),
		metric.WithDescription("Time from a revocation's sending on another replica to its taking effect here."),
		metric.WithExplicitBucketBoundaries(lagBuckets...)); err != nil {
		return ins, err
	}
	if ins.sharedCalls, err = meter.Int64ObservableCounter("lwa.shared.calls",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls to the shared cache, by operation and outcome (skipped: not made, the tier is in its backoff).")); err != nil {
		return ins, err
	}
	if ins.sharedDuration, err = meter.Float64Histogram("lwa.shared.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of one call to the shared cache, by operation (skipped calls are not recorded)."),
		metric.WithExplicitBucketBoundaries(sharedBuckets...)); err != nil {
		return ins, err
	}
	if ins.sharedState, err = meter.Int64ObservableGauge("lwa.shared.state",
		metric.WithUnit("{verifier}"),
		metric.WithDescription("Verifiers whose shared cache tier is in each state: healthy, or backoff (skipped after a failure until a probe succeeds).")); err != nil {
		return ins, err
	}
	if ins.forgeries, err = meter.Int64ObservableCounter("lwa.shared.forgeries",
		metric.WithUnit("{item}"),
		metric.WithDescription("Values and messages read from the shared cache that do not authenticate under the fleet keys, or are unreadable.")); err != nil {
		return ins, err
	}
	return ins, nil
}

// observables are the operators' observable instruments, for
// RegisterCallback.
func (ins *opsInstruments) observables() []metric.Observable {
	return []metric.Observable{ins.breakerState, ins.transitions, ins.staleServed, ins.revocations, ins.sharedCalls, ins.sharedState, ins.forgeries}
}

// BreakerChange counts the change in lwa.breaker.transitions, by the state
// entered. lwa.breaker.state itself is read from the Verifiers at
// collection time. It does not allocate.
func (o *Observer) BreakerChange(_ context.Context, ev observe.BreakerEvent) {
	if i := breakerIndex(ev.To); i >= 0 {
		o.opsCounts.transitions[i].Add(1)
	}
}

// StaleServed counts an answer served stale in lwa.stale.served and records
// how far past its TTL it was in lwa.stale.age. An event with a negative
// staleness is not counted: its entry was still trusted, so nothing was
// served stale (core reports a refresh ahead of expiry that failed that
// way). It does not allocate.
func (o *Observer) StaleServed(ctx context.Context, ev observe.StaleEvent) {
	if ev.Staleness < 0 {
		return
	}
	o.opsCounts.stale.Add(1)
	o.ops.staleAge.Record(ctx, ev.Staleness.Seconds())
}

// Revocation counts a revocation sent or received in lwa.revocations and,
// for a received one, records its lag in lwa.revocation.lag (a lag below 0,
// the hosts' clocks disagreeing, is recorded as 0). It does not allocate.
func (o *Observer) Revocation(ctx context.Context, ev observe.RevocationEvent) {
	b := revocationBucket(ev)
	if b < 0 {
		return
	}
	o.opsCounts.revocations[b].Add(1)
	if ev.Received {
		o.ops.revocationLag.Record(ctx, nonNegativeSeconds(ev.Lag), lagOptions[revocationKindIndex(ev.Kind)]...)
	}
}

// SharedCall counts a call to the shared cache in lwa.shared.calls and, when
// it was made, records its duration in lwa.shared.duration. It does not
// allocate.
func (o *Observer) SharedCall(ctx context.Context, ev observe.SharedCallEvent) {
	b := sharedCallBucket(ev)
	if b < 0 {
		return
	}
	o.opsCounts.sharedSeen.Store(true)
	o.opsCounts.sharedCalls[b].Add(1)
	if ev.Outcome != observe.SharedSkipped {
		o.ops.sharedDuration.Record(ctx, nonNegativeSeconds(ev.Duration), sharedDurationOptions[sharedOpIndex(ev.Op)]...)
	}
}

// SharedForgery counts a value or message from the shared cache that did
// not authenticate, or could not be read, in lwa.shared.forgeries. It does
// not allocate.
func (o *Observer) SharedForgery(_ context.Context, f observe.Forgery) {
	if i := forgeryIndex(f); i >= 0 {
		o.opsCounts.sharedSeen.Store(true)
		o.opsCounts.forgeries[i].Add(1)
	}
}

// nonNegativeSeconds returns d in seconds, 0 for a negative d.
func nonNegativeSeconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}

// collectOps reports the operators' observable instruments; t is the
// Verifiers' states read for this collection.
func (o *Observer) collectOps(obs metric.Observer, t *tally) {
	c := &o.opsCounts
	for i := range c.transitions {
		obs.ObserveInt64(o.ops.transitions, c.transitions[i].Load(), breakerOptions[i])
	}
	obs.ObserveInt64(o.ops.staleServed, c.stale.Load())
	for i := range c.revocations {
		obs.ObserveInt64(o.ops.revocations, c.revocations[i].Load(), revocationOptions[i])
	}
	if t.verifiers > 0 {
		for i, n := range t.breaker {
			obs.ObserveInt64(o.ops.breakerState, n, breakerOptions[i])
		}
	}
	if t.withShared > 0 {
		c.sharedSeen.Store(true)
		for i, n := range t.shared {
			obs.ObserveInt64(o.ops.sharedState, n, sharedStateOptions[i])
		}
	}
	if c.sharedSeen.Load() {
		for i := range c.sharedCalls {
			obs.ObserveInt64(o.ops.sharedCalls, c.sharedCalls[i].Load(), sharedCallOptions[i])
		}
		for i := range c.forgeries {
			obs.ObserveInt64(o.ops.forgeries, c.forgeries[i].Load(), forgeryOptions[i])
		}
	}
}
