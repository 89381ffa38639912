package otellwa

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-lwa/lwa/core/observe"
)

// closeFlushTimeout bounds the final collection Close asks for.
const closeFlushTimeout = 5 * time.Second

// tally is the Verifiers' states summed for one collection.
type tally struct {
	verifiers          int64 // Verifiers reported
	verified, rejected int64 // local cache entries
	breaker            [numBreakerStates]int64
	withShared         int64 // Verifiers with a shared tier
	shared             [numSharedStates]int64
}

// add counts one Verifier's state.
func (t *tally) add(s observe.Stats) {
	t.verifiers++
	t.verified += int64(s.Verified)
	t.rejected += int64(s.Rejected)
	if i := breakerIndex(s.Breaker); i >= 0 {
		t.breaker[i]++
	}
	switch s.Shared {
	case observe.SharedHealthy:
		t.withShared++
		t.shared[sharedHealthyIndex]++
	case observe.SharedBackoff:
		t.withShared++
		t.shared[sharedBackoffIndex]++
	}
}

// Attach adds stats to the Verifiers whose state (lwa.cache.entries,
// lwa.breaker.state, lwa.shared.state) is read at each collection. The
// returned detach function (the Verifier's Close calls it) removes it,
// keeping its last state for the next collection: a Verifier closed before
// the MeterProvider's final collection is still in it, once, with the state
// it had when it closed. Calling detach again does nothing.
func (o *Observer) Attach(stats func() observe.Stats) (detach func()) {
	if stats == nil {
		return func() {}
	}
	o.mu.Lock()
	id := o.nextID
	o.nextID++
	o.stats[id] = stats
	o.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			last := stats() // outside o.mu: the Verifier takes its own locks
			o.mu.Lock()
			defer o.mu.Unlock()
			delete(o.stats, id)
			if !o.closed {
				o.departed.add(last)
			}
		})
	}
}

// Close ends the Observer's reporting without losing its last values,
// before or after the Verifiers' own Close:
//
//  1. it asks the MeterProvider for a final collection, when the provider
//     has a ForceFlush method (the SDK's has: a periodic reader collects
//     and exports at once; so has the global one when otel.SetMeterProvider
//     was called before New), bounded by 5 s; every attached Verifier is in
//     it with its current state, and every Verifier closed since the last
//     collection with its last one;
//  2. it unregisters the collection callback: the instruments read at
//     collection time (the counters of requests, lookups, breaker
//     transitions, stale answers, revocations, shared calls and forgeries,
//     and the gauges) stop reporting, and the MeterProvider no longer
//     holds the Observer.
//
// A reader that collects only when asked (a ManualReader; the Prometheus
// exporter, on each scrape) has nothing to flush: collect before Close. A
// program that shuts its MeterProvider down at exit need not call Close at
// all: the shutdown's final collection has every value, Verifiers closed
// before it included; Close after that shutdown is fine too. Close returns
// the flush's error (an exporter's failure, say), if any; calling it again
// does nothing and returns the same error.
func (o *Observer) Close() error {
	o.closeOnce.Do(func() {
		var flushErr error
		if o.flush != nil {
			ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
			flushErr = o.flush(ctx)
			cancel()
			if errors.Is(flushErr, sdkmetric.ErrReaderShutdown) {
				flushErr = nil // the provider was shut down first: its final collection had everything
			}
		}
		o.mu.Lock()
		o.closed = true
		o.departed = tally{}
		o.mu.Unlock()
		o.closeErr = errors.Join(flushErr, o.registration.Unregister())
	})
	return o.closeErr
}

// states reads every attached Verifier's state, and takes the last states
// of the Verifiers closed since the previous collection.
func (o *Observer) states() tally {
	o.mu.Lock()
	fns := make([]func() observe.Stats, 0, len(o.stats))
	for _, f := range o.stats {
		fns = append(fns, f)
	}
	t := o.departed
	o.departed = tally{}
	o.mu.Unlock()
	for _, f := range fns {
		t.add(f())
	}
	return t
}

// collect reports the observable instruments.
func (o *Observer) collect(_ context.Context, obs metric.Observer) error {
	for i := range o.requests {
		n := o.requests[i].Load()
		if n == 0 && requestBucketQuiet(i) {
			continue
		}
		obs.ObserveInt64(o.requestsCounter, n, requestOptions[i])
	}
	for i := range o.lookups {
		obs.ObserveInt64(o.lookupsCounter, o.lookups[i].Load(), lookupOptions[i])
	}
	obs.ObserveInt64(o.activeCounter, o.active.Load())
	obs.ObserveInt64(o.waitingCounter, o.waiting.Load())

	t := o.states()
	if t.verifiers > 0 {
		obs.ObserveInt64(o.entriesGauge, t.verified, entriesVerified)
		obs.ObserveInt64(o.entriesGauge, t.rejected, entriesRejected)
	}
	o.collectOps(obs, &t)
	return nil
}
