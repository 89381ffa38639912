// Package observe is the vocabulary of core.Observer: the events a
// core.Verifier reports for metrics and traces, and the enumerations they
// carry. Package otellwa turns them into OpenTelemetry instruments and
// spans; an Observer of your own (Prometheus directly, expvar, logs) reads
// the same events.
//
// Events carry outcomes, codes, statuses, durations and counts: never a
// token, nor a customer's user ID, email, name or postal code.
package observe

import (
	"context"
	"time"
)

// Outcome is how a request or a verification ended.
type Outcome uint8

// Outcomes of a request (Authenticated, Anonymous, Rejected) and of a
// verification (OK, Rejected, Failed).
const (
	OutcomeAuthenticated Outcome = iota + 1 // a request with a verified token
	OutcomeAnonymous                        // a request let through without a profile (optional route, no token, preflight)
	OutcomeRejected                         // a rejected request, or a verification Amazon answered with a rejection
	OutcomeOK                               // a verification that accepted the token
	OutcomeFailed                           // a verification that failed upstream (502, 503, 504)
)

// String returns "authenticated", "anonymous", "rejected", "ok" or "error".
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
	TierShared                 // the shared cache (core.SharedCache)
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
	Code    string  // the error code ("invalid_token", …) when rejected, else ""
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

// BreakerState is the state of the circuit breaker in front of Amazon.
type BreakerState uint8

// Breaker states.
const (
	BreakerClosed   BreakerState = iota + 1 // every verification asks Amazon
	BreakerOpen                             // new verifications fail at once with 503
	BreakerHalfOpen                         // one probe verification is asking Amazon
)

// String returns "closed", "open" or "half_open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half_open"
	}
	return "unknown"
}

// BreakerEvent is one change of the circuit breaker's state.
type BreakerEvent struct {
	From, To BreakerState
}

// StaleEvent is one answer served stale (core.WithStaleIfError) while
// Amazon failed.
type StaleEvent struct {
	// Staleness is how long past the end of its normal trust (the cache
	// TTL) the entry was served.
	Staleness time.Duration
}

// RevocationKind is what a revocation stops accepting.
type RevocationKind uint8

// Revocation kinds.
const (
	RevokeForget RevocationKind = iota + 1 // Verifier.Forget: asked about again
	RevokeToken                            // Verifier.Revoke: one token
	RevokeUser                             // Verifier.RevokeUser: a customer's tokens
)

// String returns "forget", "token" or "user".
func (k RevocationKind) String() string {
	switch k {
	case RevokeForget:
		return "forget"
	case RevokeToken:
		return "token"
	case RevokeUser:
		return "user"
	}
	return "unknown"
}

// RevocationEvent is one revocation sent by this replica, or one received
// from another replica through the shared cache.
type RevocationEvent struct {
	Kind     RevocationKind
	Received bool // false: sent by this replica; true: received from the shared cache
	// Lag is, for a received revocation, the time from its sending (the
	// sender's clock, carried in the authenticated message) to its taking
	// effect here; 0 for a sent one. Clock skew between hosts adds to it.
	Lag time.Duration
}

// SharedOp is one kind of call to the shared cache.
type SharedOp uint8

// Shared cache operations.
const (
	SharedGet SharedOp = iota + 1
	SharedSet
	SharedSetNX
	SharedDelete
	SharedPublish
)

// String returns "get", "set", "setnx", "delete" or "publish".
func (o SharedOp) String() string {
	switch o {
	case SharedGet:
		return "get"
	case SharedSet:
		return "set"
	case SharedSetNX:
		return "setnx"
	case SharedDelete:
		return "delete"
	case SharedPublish:
		return "publish"
	}
	return "unknown"
}

// SharedOutcome is how one call to the shared cache ended.
type SharedOutcome uint8

// Shared cache call outcomes.
const (
	SharedOK      SharedOutcome = iota + 1 // answered
	SharedError                            // failed (connection refused, an error answer)
	SharedTimeout                          // did not answer in time
	SharedSkipped                          // not made: the shared tier is in its backoff after a failure
)

// String returns "ok", "error", "timeout" or "skipped".
func (o SharedOutcome) String() string {
	switch o {
	case SharedOK:
		return "ok"
	case SharedError:
		return "error"
	case SharedTimeout:
		return "timeout"
	case SharedSkipped:
		return "skipped"
	}
	return "unknown"
}

// SharedCallEvent is one call to the shared cache, or one skipped.
type SharedCallEvent struct {
	Op       SharedOp
	Outcome  SharedOutcome
	Duration time.Duration // 0 when skipped
}

// Forgery is what was wrong with something read from the shared cache.
type Forgery uint8

// What a replica refused to believe.
const (
	ForgedValue   Forgery = iota + 1 // a sealed entry or revocation record that does not open under the fleet keys
	ForgedMessage                    // a published message whose authentication tag is wrong
	Unreadable                       // a value or message of an unknown format or version
)

// String returns "value", "message" or "unreadable".
func (f Forgery) String() string {
	switch f {
	case ForgedValue:
		return "value"
	case ForgedMessage:
		return "message"
	case Unreadable:
		return "unreadable"
	}
	return "unknown"
}

// SharedState is the health of the shared tier as this replica sees it.
type SharedState uint8

// Shared tier states.
const (
	SharedNone    SharedState = iota // no shared cache configured
	SharedHealthy                    // in use
	SharedBackoff                    // skipped after a failure, until a probe succeeds
)

// String returns "none", "healthy" or "backoff".
func (s SharedState) String() string {
	switch s {
	case SharedNone:
		return "none"
	case SharedHealthy:
		return "healthy"
	case SharedBackoff:
		return "backoff"
	}
	return "unknown"
}

// Stats is a Verifier's state, read at collection time (see
// core.Observer's Attach).
type Stats struct {
	Verified int          // verified tokens in the local tier
	Rejected int          // remembered rejections in the local tier
	Breaker  BreakerState // the circuit breaker's state
	Shared   SharedState  // the shared tier's state
}

// Nop implements every hook of core.Observer by doing nothing. Embed it in
// an Observer that implements only some hooks: it stays a core.Observer
// when hooks are added.
type Nop struct{}

// Request does nothing.
func (Nop) Request(context.Context, RequestEvent) {}

// CacheLookup does nothing.
func (Nop) CacheLookup(context.Context, CacheEvent) {}

// VerificationWaiting does nothing.
func (Nop) VerificationWaiting(context.Context, int) {}

// VerificationStart returns ctx.
func (Nop) VerificationStart(ctx context.Context) context.Context { return ctx }

// VerificationEnd does nothing.
func (Nop) VerificationEnd(context.Context, VerificationEvent) {}

// UpstreamStart returns ctx.
func (Nop) UpstreamStart(ctx context.Context, _ UpstreamCall) context.Context { return ctx }

// UpstreamEnd does nothing.
func (Nop) UpstreamEnd(context.Context, UpstreamEvent) {}

// BreakerChange does nothing.
func (Nop) BreakerChange(context.Context, BreakerEvent) {}

// StaleServed does nothing.
func (Nop) StaleServed(context.Context, StaleEvent) {}

// Revocation does nothing.
func (Nop) Revocation(context.Context, RevocationEvent) {}

// SharedCall does nothing.
func (Nop) SharedCall(context.Context, SharedCallEvent) {}

// SharedForgery does nothing.
func (Nop) SharedForgery(context.Context, Forgery) {}

// Attach returns a function that does nothing.
func (Nop) Attach(func() Stats) func() { return func() {} }
