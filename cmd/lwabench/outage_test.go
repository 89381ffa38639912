package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-lwa/lwa/core/observe"
)

// TestObservedBreaker: the Observer's changes become spans that cover the
// run, from which the first opening, the closing after a time and each
// second's states are read.
func TestObservedBreaker(t *testing.T) {
	o := &outageConfig{total: 10 * time.Second, speed: 1}
	obs := &outageObserver{}
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	obs.changes = []breakerChange{
		{at: at(2 * time.Second), from: observe.BreakerClosed, to: observe.BreakerOpen},
		{at: at(4 * time.Second), from: observe.BreakerOpen, to: observe.BreakerHalfOpen},
		{at: at(4500 * time.Millisecond), from: observe.BreakerHalfOpen, to: observe.BreakerOpen},
		{at: at(6 * time.Second), from: observe.BreakerOpen, to: observe.BreakerHalfOpen},
		{at: at(6200 * time.Millisecond), from: observe.BreakerHalfOpen, to: observe.BreakerClosed},
	}
	obs.StaleServed(context.Background(), observe.StaleEvent{Staleness: time.Second})
	obs.StaleServed(context.Background(), observe.StaleEvent{Staleness: -time.Second}) // a failed refresh ahead of expiry
	r := &outageRun{o: o}
	r.observed(obs, t0)

	assert.Len(t, r.breaker, 6)
	assert.Equal(t, observe.BreakerClosed, r.breaker[0].state)
	assert.Equal(t, breakerSpan{from: 6200 * time.Millisecond, to: 10 * time.Second, state: observe.BreakerClosed}, r.breaker[5])
	assert.Equal(t, 2*time.Second, r.firstChangeTo(observe.BreakerOpen, 0))
	assert.Equal(t, 4500*time.Millisecond, r.firstChangeTo(observe.BreakerOpen, 3*time.Second))
	assert.Equal(t, 6200*time.Millisecond, r.firstChangeTo(observe.BreakerClosed, 5*time.Second))
	assert.Equal(t, time.Duration(-1), r.firstChangeTo(observe.BreakerClosed, 7*time.Second))
	assert.Equal(t, "closed", breakerCell(r.statesDuring(0, time.Second)))
	assert.Equal(t, "closed/open", breakerCell(r.statesDuring(time.Second, 2500*time.Millisecond)))
	assert.Equal(t, "open/half-open", breakerCell(r.statesDuring(4*time.Second-time.Millisecond, 5*time.Second)))
	assert.Equal(t, "half-open/closed", breakerCell(r.statesDuring(6*time.Second, 7*time.Second)))
	assert.Len(t, r.stale, 1)
	assert.Equal(t, time.Second, r.stale[0].staleness)
	assert.Equal(t, 1, r.notStale, "a negative staleness is counted apart")
	assert.Equal(t, observe.BreakerState(0), r.endBreaker, "no verifier attached")

	stats := observe.Stats{Breaker: observe.BreakerOpen}
	detach := obs.Attach(func() observe.Stats { return stats })
	assert.Equal(t, observe.BreakerOpen, obs.breaker())
	detach()
	assert.Equal(t, observe.BreakerState(0), obs.breaker())
}
