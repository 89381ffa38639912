package core

import (
	"context"

	"github.com/go-lwa/lwa/core/observe"
)

// Observer receives the Verifier's events, for metrics and traces (package
// otellwa implements it on OpenTelemetry; package observe holds the events).
// Pass one to WithObserver.
//
// Request and CacheLookup are called on the cached path of every request:
// they must not allocate nor block (count in atomics, read them at
// collection time). The other hooks are called off that path: when Amazon or
// the shared cache is asked, when the breaker changes state, when an answer
// is served stale, when a revocation is sent or received. Events never carry
// a token nor a customer's user ID, email, name or postal code.
//
// Embed observe.Nop to implement only some hooks and stay compatible when
// hooks are added.
type Observer interface {
	// Request is called once per middleware decision (Authenticate); a CORS
	// preflight counts as OutcomeAnonymous.
	Request(ctx context.Context, ev observe.RequestEvent)
	// CacheLookup is called once per lookup in a cache tier.
	CacheLookup(ctx context.Context, ev observe.CacheEvent)
	// VerificationWaiting is called with +1 when a verification starts
	// waiting for a concurrency slot (WithConcurrency) and with -1 when it
	// stops waiting.
	VerificationWaiting(ctx context.Context, delta int)
	// VerificationStart is called when a shared verification starts asking
	// Amazon (after coalescing); ctx is its first caller's. The context it
	// returns (carrying a span, say) is passed to UpstreamStart and to
	// VerificationEnd.
	VerificationStart(ctx context.Context) context.Context
	// VerificationEnd is called when that verification has decided.
	VerificationEnd(ctx context.Context, ev observe.VerificationEvent)
	// UpstreamStart is called before one call to Amazon. The context it
	// returns is the call's own, passed to UpstreamEnd.
	UpstreamStart(ctx context.Context, call observe.UpstreamCall) context.Context
	// UpstreamEnd is called when that call has ended.
	UpstreamEnd(ctx context.Context, ev observe.UpstreamEvent)
	// BreakerChange is called when the circuit breaker changes state.
	BreakerChange(ctx context.Context, ev observe.BreakerEvent)
	// StaleServed is called for each answer served stale while Amazon
	// failed (WithStaleIfError).
	StaleServed(ctx context.Context, ev observe.StaleEvent)
	// Revocation is called for each Forget, Revoke or RevokeUser this
	// replica makes, and for each one it receives from another replica
	// through the shared cache.
	Revocation(ctx context.Context, ev observe.RevocationEvent)
	// SharedCall is called for each call to the shared cache, and for each
	// call skipped while the shared tier is in its backoff.
	SharedCall(ctx context.Context, ev observe.SharedCallEvent)
	// SharedForgery is called for each value or message read from the
	// shared cache that does not authenticate under the fleet keys, or is
	// not in a format this version reads. Such a value is a miss and such
	// a message is ignored.
	SharedForgery(ctx context.Context, f observe.Forgery)
	// Attach is called once by NewVerifier with a function that reports the
	// Verifier's state (cache sizes, breaker, shared tier); the Verifier's
	// Close calls the returned detach function. One Observer may serve
	// several Verifiers.
	Attach(stats func() observe.Stats) (detach func())
}

// WithObserver sets the Observer that receives the Verifier's events.
// Default: none.
func WithObserver(o Observer) Option {
	return func(c *config) { c.observer = o }
}

var _ Observer = observe.Nop{}
