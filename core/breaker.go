package core

import (
	"sync"
	"time"
)

// breaker is the circuit breaker in front of Amazon. Closed, every
// verification asks; after failures upstream failures in a row it opens and
// new verifications fail at once with 503; after cooldown it lets one probe
// through (half-open), whose success closes it and whose failure opens it
// again. Amazon's documented rejections count as successes: Amazon answered.
//
// Hand-written rather than gobreaker: the states are the same, but which
// outcomes count, the probe's cancellation when it never reached Amazon
// (a shared-cache hit, an abandoned flight) and the Retry-After of each
// rejection are this verifier's own, and the whole is fifty lines.
type breaker struct {
	failures int // 0: off
	cooldown time.Duration
	now      func() int64

	mu       sync.Mutex
	fails    int   // in a row
	openedAt int64 // 0: closed
	probing  bool  // half-open: the probe is under way
}

func newBreaker(c *config) *breaker {
	b := &breaker{failures: c.breakerFails, cooldown: c.breakerCool, now: func() int64 { return time.Now().UnixNano() }}
	if c.nowNano != nil {
		b.now = c.nowNano
	}
	return b
}

// allow returns nil when a verification may ask Amazon, or the 503 to
// answer with; probe reports that the verification is the half-open
// breaker's one probe.
func (b *breaker) allow() (probe bool, err *Error) {
	if b.failures == 0 {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openedAt == 0 {
		return false, nil
	}
	wait := time.Duration(b.openedAt + int64(b.cooldown) - b.now())
	if wait <= 0 && !b.probing {
		b.probing = true
		return true, nil
	}
	e := newError(ErrUpstreamUnavailable, "Login with Amazon is failing; verification paused for a moment", nil)
	e.RetryAfter = max(wait, time.Second)
	return false, e
}

// cancel releases the probe when it never asked Amazon (another replica
// answered, or it got no slot), so that the next verification probes.
func (b *breaker) cancel(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// record counts the outcome of a verification that asked Amazon.
func (b *breaker) record(err *Error) {
	if b.failures == 0 {
		return
	}
	failed := err != nil && !cacheable(err)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !failed:
		b.fails, b.openedAt, b.probing = 0, 0, false
	case b.probing:
		b.openedAt, b.probing = b.now(), false
	default:
		b.fails++
		if b.fails >= b.failures && b.openedAt == 0 {
			b.openedAt = b.now()
		}
	}
}
