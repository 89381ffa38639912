package core

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// flight is one shared verification of a token: the callers that want its
// answer wait on done. A flight first looks in the shared tier (in a
// goroutine of its own), then needs one of the concurrency slots
// (WithConcurrency) to ask Amazon. Without a free slot it waits in the
// Verifier's queue holding no goroutine; a released slot starts the next
// queued flight. Its callers are counted: a flight whose callers have all
// gone before it got a slot is dropped at once and never asks Amazon.
type flight struct {
	ctx   context.Context // the first caller's, without its cancellation: traces, logs
	token string          // the flight's own copy
	key   cacheKey
	// storeTag is the token's name in the shared tier, hashed once (tag).
	storeTag string
	// gen is the forget tombstone the shared lookup saw (0: none); known
	// reports whether the lookup read it. What the flight stores carries
	// it, and is stored only when known.
	gen   int64
	known bool
	done  chan struct{} // closed when e or err is set
	e     *entry
	err   *Error

	// Guarded by Verifier.mu.
	callers    int         // callers waiting for done
	started    bool        // holds a slot: no longer abandonable
	abandoned  bool        // every caller left before it got a slot
	queued     bool        // waiting in Verifier.queue
	prev, next *flight     // neighbours in Verifier.queue
	counted    bool        // counts in Verifier.pending
	timer      *time.Timer // ends a queued flight that got no slot in time
	finished   bool

	refresh bool // a background refresh ahead of expiry: skips the local tier

	forgotten atomic.Bool // Forget, Revoke or RevokeUser ran while it was under way: its answer is not cached
	revoked   atomic.Bool // Revoke ran while it was under way: its callers are rejected
}

// join waits for the shared verification of token, starting one when none
// is under way. The token may point into a buffer the caller's framework
// reuses (fasthttp): the shared work, which can outlive this call, gets a
// copy. A caller whose context is already done starts nothing.
func (v *Verifier) join(ctx context.Context, token string, key cacheKey) (*entry, error) {
	if ctx.Err() != nil {
		return nil, callerGone(ctx)
	}
	v.mu.Lock()
	f := v.flights[key]
	if f == nil {
		if v.pending >= v.cfg.maxPending {
			v.mu.Unlock()
			return nil, errOverloaded()
		}
		f = v.newFlightLocked(context.WithoutCancel(ctx), strings.Clone(token), key, 1)
		v.mu.Unlock()
		v.first(ctx, f)
	} else {
		f.callers++
		v.mu.Unlock()
	}
	select {
	case <-f.done:
		if f.err != nil {
			// Every caller of a shared verification gets its own copy: a
			// custom error handler may modify it.
			e := *f.err
			return nil, &e
		}
		// A revocation that returned while the flight was under way wins:
		// the answer is not handed to anyone who asks after it.
		if err := v.revokedNow(f, f.e); err != nil {
			return nil, err
		}
		return f.e, nil
	case <-ctx.Done():
		v.leave(f)
		return nil, callerGone(ctx)
	}
}

// callerGone is the rejection of a caller whose own context ended: no
// sentinel, the cause is the context's error.
func callerGone(ctx context.Context) *Error {
	return &Error{Status: http.StatusGatewayTimeout, Code: CodeServerError,
		Description: "the request ended before its token was verified", kind: errCallerGone, cause: ctx.Err()}
}

// newFlightLocked registers a new flight for key; v.mu is held.
func (v *Verifier) newFlightLocked(ctx context.Context, token string, key cacheKey, callers int) *flight {
	f := &flight{ctx: ctx, token: token, key: key, done: make(chan struct{}), callers: callers, counted: true}
	v.flights[key] = f
	v.pending++
	return f
}

// leave removes one caller from f, and drops f when it was the last and f
// has no slot yet.
func (v *Verifier) leave(f *flight) {
	v.mu.Lock()
	f.callers--
	if f.callers > 0 || f.started || f.abandoned || f.finished {
		v.mu.Unlock()
		return
	}
	f.abandoned = true
	wasQueued := v.unqueueLocked(f)
	v.dropLocked(f)
	v.mu.Unlock()
	if wasQueued {
		v.observeWaiting(f, -1)
	}
}

// dropLocked unregisters f; v.mu is held.
func (v *Verifier) dropLocked(f *flight) {
	if v.flights[f.key] == f {
		delete(v.flights, f.key)
	}
	if f.counted {
		f.counted = false
		v.pending--
	}
}

// unqueueLocked takes f out of the queue and stops its timer; v.mu is
// held. It reports whether f was queued.
func (v *Verifier) unqueueLocked(f *flight) bool {
	if !f.queued {
		return false
	}
	f.queued = false
	v.queue.remove(f)
	if f.timer != nil {
		f.timer.Stop()
	}
	return true
}

// finish hands f's answer to its callers.
func (v *Verifier) finish(f *flight, e *entry, err *Error) {
	v.mu.Lock()
	if f.finished {
		v.mu.Unlock()
		return
	}
	f.finished = true
	f.e, f.err = e, err
	v.dropLocked(f)
	v.mu.Unlock()
	close(f.done)
}

// first is the first caller's part of a new flight: it looks in the tiers
// itself (a shared-tier hit then costs no goroutine hand-off), under its own
// context; the rest of the flight runs in a goroutine of its own. When the
// caller leaves during the lookup, the flight starts over in that goroutine
// for whoever joined it (if nobody did, it is abandoned at once).
func (v *Verifier) first(ctx context.Context, f *flight) {
	e, err, settled := v.settleSafe(ctx, f)
	switch {
	case settled:
		v.finish(f, e, err)
	case ctx.Err() != nil:
		go v.run(f)
	default:
		go v.ask1(f)
	}
}

// run is a flight's goroutine when it starts with the tiers: a refresh
// ahead of expiry, or a flight whose first caller left during its lookup.
func (v *Verifier) run(f *flight) {
	e, err, settled := v.settleSafe(f.ctx, f)
	if settled {
		v.finish(f, e, err)
		return
	}
	v.ask1(f)
}

// ask1 is the part of a flight the tiers could not settle: the breaker,
// then a slot, or the queue.
func (v *Verifier) ask1(f *flight) {
	if wait, open := v.breaker.opened(); open {
		e, err := v.staleOr(f, v.breaker.rejection(wait))
		v.finish(f, e, err)
		return
	}
	if v.slotOrQueue(f) {
		v.ask2(f)
	}
}

// slotOrQueue gives f a slot and reports true, or queues it (or finds it
// abandoned) and reports false.
func (v *Verifier) slotOrQueue(f *flight) bool {
	v.mu.Lock()
	switch {
	case f.abandoned:
		v.mu.Unlock()
		return false
	case v.running < v.cfg.maxConcurrent:
		v.running++
		v.startLocked(f)
		v.mu.Unlock()
		return true
	}
	f.queued = true
	v.queue.push(f)
	f.timer = time.AfterFunc(v.cfg.timeout, func() { v.expire(f) })
	v.mu.Unlock()
	v.observeWaiting(f, +1)
	return false
}

// startLocked marks f as holding a slot; v.mu is held.
func (v *Verifier) startLocked(f *flight) {
	f.started = true
	if f.counted {
		f.counted = false
		v.pending--
	}
}

// release gives the slot of a finished verification to the next queued
// flight, or frees it.
func (v *Verifier) release() {
	v.mu.Lock()
	if g := v.queue.head; g != nil {
		v.unqueueLocked(g)
		v.startLocked(g)
		v.mu.Unlock()
		v.observeWaiting(g, -1)
		go v.ask2(g)
		return
	}
	v.running--
	v.mu.Unlock()
}

// expire ends a flight that waited a whole timeout for a slot: every slot
// is held (by a hanging Amazon, say). Its callers get 504, or the stale
// entry when stale-if-error allows it. Amazon was not asked: the breaker
// does not count it.
func (v *Verifier) expire(f *flight) {
	v.mu.Lock()
	if !v.unqueueLocked(f) {
		v.mu.Unlock()
		return
	}
	v.mu.Unlock()
	v.observeWaiting(f, -1)
	e, err := v.staleOr(f, newError(ErrUpstreamTimeout, "too many verifications in progress", context.DeadlineExceeded))
	v.finish(f, e, err)
}

func (v *Verifier) observeWaiting(f *flight, delta int) {
	if v.obs != nil {
		v.obs.VerificationWaiting(f.ctx, delta)
	}
}

// errCallerGone marks the rejection of a caller whose own context ended: it
// matches no public sentinel, only the context's error.
var errCallerGone = errors.New("lwa: the caller went away")

// errOverloaded answers a new token while too many verifications wait.
func errOverloaded() *Error {
	e := newError(ErrOverloaded, "too many verifications are waiting; try again shortly", nil)
	e.RetryAfter = time.Second
	return e
}

// refreshAhead re-verifies e in the background when a request uses it in
// the last part of its trust window (WithRefreshAhead): a token in steady
// use never makes a request wait for Amazon. The request itself is answered
// from e at once. One refresh at a time; a refresh that ends without a new
// entry (Amazon failing, the breaker open, no slot) lets a later use try
// again.
func (v *Verifier) refreshAhead(ctx context.Context, token string, key cacheKey, e *entry) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	select {
	case <-v.closing:
		e.refreshing.Store(false)
		return
	default:
	}
	v.mu.Lock()
	if v.flights[key] != nil || v.pending >= v.cfg.maxPending {
		v.mu.Unlock()
		e.refreshing.Store(false)
		return
	}
	// One caller that never leaves: a refresh is never abandoned.
	f := v.newFlightLocked(context.WithoutCancel(ctx), strings.Clone(token), key, 1)
	f.refresh = true
	v.bg.Add(1)
	v.mu.Unlock()
	go func() {
		defer v.bg.Done()
		v.run(f)
		<-f.done
		if f.err != nil || f.e == e {
			e.refreshing.Store(false) // failed (or served stale): a later use may try again
		}
	}()
}

// observeStale reports an answer served past its trust (not a refresh that
// failed while its entry was still trusted: nothing was stale then).
func (v *Verifier) observeStale(f *flight, e *entry) {
	if v.obs == nil {
		return
	}
	if past := v.cache.now() - e.trustUntil; past >= 0 {
		v.obs.StaleServed(f.ctx, observe.StaleEvent{Staleness: time.Duration(past)})
	}
}

// flightQueue is the flights waiting for a slot, oldest first: a list
// threaded through them, so that one whose callers all left (or whose wait
// ran out) leaves it at once.
type flightQueue struct{ head, tail *flight }

func (q *flightQueue) push(f *flight) {
	f.prev, f.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = f
	} else {
		q.head = f
	}
	q.tail = f
}

func (q *flightQueue) remove(f *flight) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		q.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		q.tail = f.prev
	}
	f.prev, f.next = nil, nil
}
