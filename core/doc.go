// Package core verifies Login with Amazon (LWA) access tokens.
//
// It is the framework-agnostic engine under the ginlwa, echolwa, echov5lwa,
// fiberlwa, fiberv3lwa and stdlwa adapters (and grpclwa, connectlwa and
// cmd/lwaauthz): token extraction, the tokeninfo and profile calls to
// Amazon (made in parallel), the audience check that proves a token was
// issued to this server's LWA app (its client IDs, or its app ID), a
// bounded cache keyed by the token's SHA-256 (with an optional second tier
// shared by replicas, SharedCache, sealed under the fleet's key),
// coalescing of concurrent first uses, revocation (Revoke, RevokeUser), a
// circuit breaker, refresh-ahead and stale-if-error, hooks for metrics and
// traces (Observer, with its events in package core/observe), and the error
// table every adapter renders. It imports no web framework, no RPC
// framework, no Redis client and no OpenTelemetry.
//
// A Verifier is safe for concurrent use; share one across routes, groups and
// frameworks so they share one cache.
//
// An app calls NewVerifier and its options, Verify, Forget, Revoke and
// RevokeUser, and reads a request's credentials with FromContext,
// TokenFromContext and TokenInfoFromContext. An adapter for a framework this
// module does not cover needs only Request, Verifier.Authenticate, Policy,
// ContextKey and Error's StatusCode, SetHeaders and Body (see the adapter
// example).
package core
