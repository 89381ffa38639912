package core

import (
	"context"
	"time"
)

// Observer receives the Verifier's events, for metrics and traces (package
// otellwa implements it on OpenTelemetry). Pass one to WithObserver.
//
// Request and CacheLookup are called on the cached path of every request:
// they must not allocate nor block (count in atomics, read them at
// collection time). The other hooks are called only when Amazon is asked.
// Events carry codes, outcomes, statuses and durations, never a token nor a
// customer's email, name or postal code.
//
// Embed NopObserver to implement only some hooks and stay compatible when
// hooks are added.
type Observer interface {
	// Request is called once per middleware decision (Authenticate); a CORS
	// preflight counts as OutcomeAnonymous.
	Request(ctx context.Context, ev RequestEvent)
	// CacheLookup is called once per lookup in a cache tier.
	CacheLookup(ctx context.Context, ev CacheEvent)
	// VerificationWaiting is called with +1 when a verification starts
	// waiting for a concurrency slot (WithMaxConcurrentVerifications) and
	// with -1 when it stops waiting.
	VerificationWaiting(ctx context.Context, delta int)
	// VerificationStart is called when a shared verification starts asking
	// Amazon (after coalescing); ctx is its first caller's. The context it
	// returns (carrying a span, say) is passed to UpstreamStart and to
	// VerificationEnd.
	VerificationStart(ctx context.Context) context.Context
	// VerificationEnd is called when that verification has decided.
	VerificationEnd(ctx context.Context, ev VerificationEvent)
	// UpstreamStart is called before one call to Amazon. The context it
	// returns is the call's own, passed to UpstreamEnd.
	UpstreamStart(ctx context.Context, call UpstreamCall) context.Context
	// UpstreamEnd is called when that call has ended.
	UpstreamEnd(ctx context.Context, ev UpstreamEvent)
	// Attach is called once by NewVerifier with a function that reports the
	// Verifier's cache sizes; the Verifier's Close calls the returned detach
	// function. One Observer may serve several Verifiers.
	Attach(stats func() CacheStats) (detach func())
}

// WithObserver sets the Observer that receives the Verifier's events.
// Default: none.
func WithObserver(o Observer) Option {
	return func(c *config) { c.observer = o }
}

// Outcome is how a request or a verification ended.
type Outcome uint8

// Outcomes of a request (Authenticated, Anonymous, Rejected) and of a
// verification (OK, Rejected, Failed).
const (
	OutcomeAuthenticated Outcome = iota + 1 // a request with a verified token
	OutcomeAnonymous                        // a request let through without a profile (optional route, no token)
	OutcomeRejected                         // a rejected request, or a verification Amazon answered with a rejection
	OutcomeOK                               // a verification that accepted the token
	OutcomeFailed                           // a verification that failed upstream (502, 503, 504)
)

// String returns the outcome as the lwa.outcome metric attribute writes it:
// "authenticated", "anonymous", "rejected", "ok" or "error".
func (o Outcome) String() string {
	switch o {
	case OutcomeAuthenticated:
		return "authenticated"
	case OutcomeAnonymous:
		return "anonymous"
	case OutcomeRejected:
		return "rejected"
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "error"
	}
	return "unknown"
}

// Tier is a cache tier.
type Tier uint8

// Cache tiers.
const (
	TierLocal  Tier = iota + 1 // this process's memory
	TierShared                 // the SharedCache
)

// String returns "local" or "shared".
func (t Tier) String() string {
	switch t {
	case TierLocal:
		return "local"
	case TierShared:
		return "shared"
	}
	return "unknown"
}

// LookupResult is what one cache lookup found.
type LookupResult uint8

// Lookup results.
const (
	LookupHit         LookupResult = iota + 1 // a verified token
	LookupMiss                                // nothing usable
	LookupRejectedHit                         // a remembered rejection (negative cache) or a revocation
)

// String returns "hit", "miss" or "rejected_hit".
func (r LookupResult) String() string {
	switch r {
	case LookupHit:
		return "hit"
	case LookupMiss:
		return "miss"
	case LookupRejectedHit:
		return "rejected_hit"
	}
	return "unknown"
}

// RequestEvent is one middleware decision.
type RequestEvent struct {
	Outcome Outcome // OutcomeAuthenticated, OutcomeAnonymous or OutcomeRejected
	Code    string  // the error code (CodeInvalidToken, …) when rejected, else ""
}

// CacheEvent is one cache lookup.
type CacheEvent struct {
	Tier   Tier
	Result LookupResult
}

// VerificationEvent is the end of one shared verification that asked Amazon.
type VerificationEvent struct {
	Outcome  Outcome       // OutcomeOK, OutcomeRejected or OutcomeFailed
	Code     string        // the error code when not OK, else ""
	Duration time.Duration // both calls, from the first call's start
}

// UpstreamCall describes one call to Amazon. URL is the full URL with the
// access_token query value replaced by "REDACTED": it never carries a token.
type UpstreamCall struct {
	Endpoint      string // "tokeninfo" or "profile"
	Method        string // "GET"
	URL           string // redacted
	ServerAddress string // host name of the endpoint
	ServerPort    int    // port of the endpoint (443 by default for https)
}

// UpstreamEvent is the end of one call to Amazon.
type UpstreamEvent struct {
	UpstreamCall
	StatusCode int           // the HTTP status Amazon answered, 0 if none
	ErrorType  string        // "" on a documented answer; else "timeout", "transport", "canceled" (the verifier no longer needed the answer) or the status code
	Duration   time.Duration // from the request's start to its body read
}

// CacheStats reports the number of entries in the local tier.
type CacheStats struct {
	Verified int // verified tokens
	Rejected int // remembered rejections
}

// NopObserver is an Observer that does nothing. Embed it in an Observer that
// implements only some hooks.
type NopObserver struct{}

var _ Observer = NopObserver{}

// Request does nothing.
func (NopObserver) Request(context.Context, RequestEvent) {}

// CacheLookup does nothing.
func (NopObserver) CacheLookup(context.Context, CacheEvent) {}

// VerificationWaiting does nothing.
func (NopObserver) VerificationWaiting(context.Context, int) {}

// VerificationStart returns ctx.
func (NopObserver) VerificationStart(ctx context.Context) context.Context { return ctx }

// VerificationEnd does nothing.
func (NopObserver) VerificationEnd(context.Context, VerificationEvent) {}

// UpstreamStart returns ctx.
func (NopObserver) UpstreamStart(ctx context.Context, _ UpstreamCall) context.Context { return ctx }

// UpstreamEnd does nothing.
func (NopObserver) UpstreamEnd(context.Context, UpstreamEvent) {}

// Attach returns a function that does nothing.
func (NopObserver) Attach(func() CacheStats) func() { return func() {} }
