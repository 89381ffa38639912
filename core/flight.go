package core

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// flight is one shared verification of a token: the callers that want its
// answer wait on done. Its callers are counted so that a verification whose
// callers have all gone before it got a concurrency slot is abandoned
// instead of asking Amazon for nobody.
type flight struct {
	ctx     context.Context // the first caller's, without its cancellation: traces, logs
	done    chan struct{}   // closed when e or err is set
	abandon chan struct{}   // closed when every caller left before it started asking
	e       *entry
	err     *Error

	// Guarded by Verifier.mu.
	callers   int  // callers waiting for done
	started   bool // holds a concurrency slot: no longer abandonable
	abandoned bool
	counted   bool // counts in Verifier.pending

	refresh bool // a background refresh ahead of expiry: skips the local tier

	forgotten atomic.Bool // Forget or Revoke ran while it was under way: its answer is not cached
}

// join waits for the shared verification of token, starting one when none
// is under way. The token may point into a buffer the caller's framework
// reuses (fasthttp): the shared work, which can outlive this call, gets a
// copy.
func (v *Verifier) join(ctx context.Context, token string, key cacheKey) (*entry, error) {
	v.mu.Lock()
	f := v.flights[key]
	if f == nil {
		if v.pending >= v.cfg.maxPending {
			v.mu.Unlock()
			return nil, errOverloaded()
		}
		f = v.newFlightLocked(context.WithoutCancel(ctx), key, 1)
		v.mu.Unlock()
		go v.run(f, strings.Clone(token), key)
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
		return f.e, nil
	case <-ctx.Done():
		v.leave(f, key)
		// The caller's own context, not Amazon, ended it: no sentinel, the
		// cause is the context's error.
		return nil, &Error{Status: http.StatusGatewayTimeout, Code: CodeServerError,
			Description: "the request ended before its token was verified", cause: ctx.Err()}
	}
}

// newFlightLocked registers a new flight for key; v.mu is held.
func (v *Verifier) newFlightLocked(ctx context.Context, key cacheKey, callers int) *flight {
	f := &flight{ctx: ctx, done: make(chan struct{}), abandon: make(chan struct{}), callers: callers, counted: true}
	v.flights[key] = f
	v.pending++
	return f
}

// leave removes one caller from f, and abandons f when it was the last and
// f has not started asking Amazon.
func (v *Verifier) leave(f *flight, key cacheKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f.callers--
	if f.callers == 0 && !f.started && !f.abandoned {
		f.abandoned = true
		close(f.abandon)
		v.dropLocked(f, key)
	}
}

// dropLocked unregisters f; v.mu is held.
func (v *Verifier) dropLocked(f *flight, key cacheKey) {
	if v.flights[key] == f {
		delete(v.flights, key)
	}
	if f.counted {
		f.counted = false
		v.pending--
	}
}

// start marks f as holding a slot; it reports false when f was abandoned
// meanwhile.
func (v *Verifier) start(f *flight) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if f.abandoned {
		return false
	}
	f.started = true
	if f.counted {
		f.counted = false
		v.pending--
	}
	return true
}

// run is the goroutine of one flight.
func (v *Verifier) run(f *flight, token string, key cacheKey) {
	e, err := v.fetchSafe(f, token, key)
	v.mu.Lock()
	f.e, f.err = e, err
	v.dropLocked(f, key)
	v.mu.Unlock()
	close(f.done)
}

// acquire takes a concurrency slot for f within ctx. It returns nil when it
// got one, errAbandoned when every caller left first, or a timeout.
func (v *Verifier) acquire(ctx context.Context, f *flight) *Error {
	select {
	case v.slots <- struct{}{}:
	default:
		if v.obs != nil {
			v.obs.VerificationWaiting(f.ctx, 1)
			defer v.obs.VerificationWaiting(f.ctx, -1)
		}
		select {
		case v.slots <- struct{}{}:
		case <-f.abandon:
			return errAbandoned
		case <-ctx.Done():
			return newError(ErrUpstreamTimeout, "too many verifications in progress", context.DeadlineExceeded)
		}
	}
	if !v.start(f) {
		<-v.slots
		return errAbandoned
	}
	return nil
}

func (v *Verifier) release() { <-v.slots }

// errAbandoned ends a flight nobody waits for; no caller ever sees it.
var errAbandoned = &Error{Status: http.StatusGatewayTimeout, Code: CodeServerError, Description: "abandoned", kind: ErrUpstreamTimeout}

// errOverloaded answers a new token while too many verifications wait.
func errOverloaded() *Error {
	e := newError(ErrOverloaded, "too many verifications are waiting; try again shortly", nil)
	e.RetryAfter = time.Second
	return e
}

// refreshAhead re-verifies e in the background, once, when a request uses it
// in the last part of its trust window (WithRefreshAhead): a token in steady
// use never makes a request wait for Amazon. The request itself is answered
// from e at once.
func (v *Verifier) refreshAhead(ctx context.Context, token string, key cacheKey, e *entry) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	select {
	case <-v.closing:
		return
	default:
	}
	v.mu.Lock()
	if v.flights[key] != nil || v.pending >= v.cfg.maxPending {
		v.mu.Unlock()
		return
	}
	// One caller that never leaves: a refresh is never abandoned.
	f := v.newFlightLocked(context.WithoutCancel(ctx), key, 1)
	f.refresh = true
	v.bg.Add(1)
	v.mu.Unlock()
	go func() {
		defer v.bg.Done()
		v.run(f, strings.Clone(token), key)
	}()
}
