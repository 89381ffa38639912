package core

import (
	"context"
	"sync"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// breaker is the circuit breaker in front of Amazon. Closed, every
// verification asks; once verifications of failures distinct tokens have
// failed since the last success, it opens and new verifications fail at
// once with 503; after cooldown it lets one probe through (half-open),
// whose success closes it and whose failure opens it again. Amazon's
// documented rejections count as successes: Amazon answered.
//
// What counts, and what does not:
//   - one token failing again and again counts once (an odd token must not
//     open the breaker for everybody);
//   - a call still under way after hangAfter counts as failed at once, so a
//     hanging Amazon opens the breaker within about hangAfter rather than
//     WithTimeout; if it then succeeds, that success closes it again;
//   - a verification that never got a concurrency slot never asked Amazon
//     and does not count (local overload is not Amazon's failure);
//   - a probe that panics counts as a failure and is released.
//
// Hand-written rather than gobreaker: these rules, the probe's release when
// it never reached Amazon (another replica answered) and the Retry-After of
// each rejection are this verifier's own.
type breaker struct {
	failures  int // 0: off
	cooldown  time.Duration
	hangAfter time.Duration
	now       func() int64
	changed   func(observe.BreakerEvent) // the Observer's hook, or nil

	mu       sync.Mutex
	failed   map[cacheKey]struct{} // distinct tokens failed since the last success
	openedAt int64                 // 0: closed
	probing  bool                  // half-open: the probe is under way
	calls    map[*upcall]struct{}  // calls to Amazon under way
}

// upcall is one verification asking Amazon.
type upcall struct {
	key   cacheKey
	start int64
	hung  bool // counted as failed while still under way
	probe bool
}

// hangAfter is how long a call to Amazon may be under way before the
// breaker counts it as failed: at most 1 s, and half of WithTimeout when
// that is shorter.
func hangAfterOf(timeout time.Duration) time.Duration { return min(time.Second, timeout/2) }

func newBreaker(c *config, changed func(observe.BreakerEvent)) *breaker {
	b := &breaker{failures: c.breakerFails, cooldown: c.breakerCool, hangAfter: hangAfterOf(c.timeout),
		now: func() int64 { return time.Now().UnixNano() }, changed: changed,
		failed: make(map[cacheKey]struct{}), calls: make(map[*upcall]struct{})}
	if c.nowNano != nil {
		b.now = c.nowNano
	}
	return b
}

// stateLocked is the breaker's state; b.mu is held.
func (b *breaker) stateLocked() observe.BreakerState {
	switch {
	case b.openedAt == 0:
		return observe.BreakerClosed
	case b.probing:
		return observe.BreakerHalfOpen
	}
	return observe.BreakerOpen
}

// state is the breaker's state, with hanging calls counted.
func (b *breaker) state() observe.BreakerState {
	if b.failures == 0 {
		return observe.BreakerClosed
	}
	b.mu.Lock()
	from := b.stateLocked()
	b.countHangsLocked(b.now())
	to := b.stateLocked()
	b.mu.Unlock()
	b.report(from, to)
	return to
}

// report tells the Observer about a change of state.
func (b *breaker) report(from, to observe.BreakerState) {
	if from != to && b.changed != nil {
		b.changed(observe.BreakerEvent{From: from, To: to})
	}
}

// opened reports, without taking the probe, whether the breaker is open
// and how long until it lets a probe through: a flight that would only
// queue for a slot to be refused fails at once.
func (b *breaker) opened() (time.Duration, bool) {
	if b.failures == 0 {
		return 0, false
	}
	b.mu.Lock()
	from := b.stateLocked()
	now := b.now()
	b.countHangsLocked(now)
	to := b.stateLocked()
	wait := time.Duration(b.openedAt + int64(b.cooldown) - now)
	open := b.openedAt != 0 && (wait > 0 || b.probing)
	b.mu.Unlock()
	b.report(from, to)
	return wait, open
}

// rejection is the 503 of an open breaker.
func (b *breaker) rejection(wait time.Duration) *Error {
	e := newError(ErrUpstreamUnavailable, "Login with Amazon is failing; verification paused for a moment", nil)
	e.RetryAfter = max(wait, time.Second)
	return e
}

// allow registers a verification of key about to ask Amazon, or returns
// the 503 to answer with. The verification reports its end with done, or
// with cancel when it never asked (another replica answered).
func (b *breaker) allow(key cacheKey) (*upcall, *Error) {
	c := &upcall{key: key, start: b.now()}
	if b.failures == 0 {
		return c, nil
	}
	b.mu.Lock()
	from := b.stateLocked()
	b.countHangsLocked(c.start)
	if b.openedAt != 0 {
		wait := time.Duration(b.openedAt + int64(b.cooldown) - c.start)
		if wait > 0 || b.probing {
			to := b.stateLocked()
			b.mu.Unlock()
			b.report(from, to)
			return nil, b.rejection(wait)
		}
		b.probing, c.probe = true, true
	}
	b.calls[c] = struct{}{}
	to := b.stateLocked()
	b.mu.Unlock()
	b.report(from, to)
	return c, nil
}

// countHangsLocked counts calls under way longer than hangAfter as failed;
// b.mu is held.
func (b *breaker) countHangsLocked(now int64) {
	for c := range b.calls {
		if !c.hung && now-c.start >= int64(b.hangAfter) {
			c.hung = true
			b.failLocked(c, now)
		}
	}
}

// failLocked counts one failed call; b.mu is held.
func (b *breaker) failLocked(c *upcall, now int64) {
	if c.probe {
		b.openedAt, b.probing = now, false // half-open → open: wait another cooldown
		c.probe = false
		return
	}
	if len(b.failed) < b.failures { // enough to open: no need to remember more
		b.failed[c.key] = struct{}{}
	}
	if len(b.failed) >= b.failures && b.openedAt == 0 {
		b.openedAt = now
	}
}

// done counts the outcome of a call to Amazon: err is nil or one of
// Amazon's documented rejections for an answer, else a failure.
func (b *breaker) done(c *upcall, err *Error) {
	if b.failures == 0 || c == nil {
		return
	}
	b.mu.Lock()
	from := b.stateLocked()
	delete(b.calls, c)
	now := b.now()
	switch {
	case err == nil || cacheable(err):
		clear(b.failed)
		b.openedAt, b.probing = 0, false
	case !c.hung:
		b.failLocked(c, now)
	}
	to := b.stateLocked()
	b.mu.Unlock()
	b.report(from, to)
}

// cancel unregisters a call that never asked Amazon, releasing the probe.
func (b *breaker) cancel(c *upcall) {
	if b.failures == 0 || c == nil {
		return
	}
	b.mu.Lock()
	from := b.stateLocked()
	delete(b.calls, c)
	if c.probe {
		b.probing = false
	}
	to := b.stateLocked()
	b.mu.Unlock()
	b.report(from, to)
}

// observeBreaker returns the breaker's Observer hook.
func observeBreaker(o interface {
	BreakerChange(context.Context, observe.BreakerEvent)
}) func(observe.BreakerEvent) {
	if o == nil {
		return nil
	}
	return func(ev observe.BreakerEvent) { o.BreakerChange(context.Background(), ev) }
}
