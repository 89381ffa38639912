// Package core verifies Login with Amazon (LWA) access tokens.
//
// It is the framework-agnostic engine under the ginlwa, echolwa, echov5lwa,
// fiberlwa, fiberv3lwa and stdlwa adapters: token extraction, the tokeninfo
// and profile calls to Amazon (made in parallel), the audience check that
// proves a token was issued to this server's LWA app, a bounded cache keyed
// by the token's SHA-256 (with an optional second tier shared by replicas,
// SharedCache), coalescing of concurrent first uses, revocation (Revoke,
// RevokeUser), a circuit breaker, refresh-ahead and stale-if-error, hooks for
// metrics and traces (Observer), and the error table every adapter renders.
// It imports no web framework, no Redis client and no OpenTelemetry.
//
// A Verifier is safe for concurrent use; share one across routes, groups and
// frameworks so they share one cache.
package core
