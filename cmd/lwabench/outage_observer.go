package main

import (
	"context"
	"sync"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
)

// outageObserver is the verifier's Observer in the outage scenario: it
// records what the breaker did and which answers were served stale, as the
// verifier itself saw it, so that the tables and the plot need not infer
// them from the answers the clients got (a first 503 comes after the
// breaker opened, and says nothing of when it closed).
type outageObserver struct {
	observe.Nop

	mu       sync.Mutex
	changes  []breakerChange
	stale    []staleAnswer
	notStale int // stale events with a negative staleness
	stats    func() observe.Stats
}

// breakerChange is one change of the breaker's state.
type breakerChange struct {
	at       time.Time
	from, to observe.BreakerState
}

// staleAnswer is one answer served stale.
type staleAnswer struct {
	at        time.Time
	staleness time.Duration // past the cache TTL
}

var _ core.Observer = (*outageObserver)(nil)

// BreakerChange records the change and its time.
func (o *outageObserver) BreakerChange(_ context.Context, ev observe.BreakerEvent) {
	now := time.Now()
	o.mu.Lock()
	o.changes = append(o.changes, breakerChange{at: now, from: ev.From, to: ev.To})
	o.mu.Unlock()
}

// StaleServed records the answer, its time and how stale it was. An event
// with a negative staleness is only counted apart: core reports a refresh
// ahead of expiry that failed while its entry was still trusted that way,
// though it served nobody stale.
func (o *outageObserver) StaleServed(_ context.Context, ev observe.StaleEvent) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if ev.Staleness < 0 {
		o.notStale++
		return
	}
	o.stale = append(o.stale, staleAnswer{at: now, staleness: ev.Staleness})
}

// Attach keeps the verifier's state reader.
func (o *outageObserver) Attach(stats func() observe.Stats) func() {
	o.mu.Lock()
	o.stats = stats
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		o.stats = nil
		o.mu.Unlock()
	}
}

// breaker is the breaker's state now, as the verifier reports it (0 when
// no verifier is attached).
func (o *outageObserver) breaker() observe.BreakerState {
	o.mu.Lock()
	stats := o.stats
	o.mu.Unlock()
	if stats == nil {
		return 0
	}
	return stats().Breaker
}

// events returns a copy of what was recorded, and the number of stale
// events with a negative staleness.
func (o *outageObserver) events() ([]breakerChange, []staleAnswer, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]breakerChange(nil), o.changes...), append([]staleAnswer(nil), o.stale...), o.notStale
}
