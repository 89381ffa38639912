// Package core verifies Login with Amazon (LWA) access tokens.
//
// It is the framework-agnostic engine under the ginlwa, echolwa, fiberlwa
// and stdlwa adapters: token extraction, the tokeninfo and profile calls to
// Amazon (made in parallel), the audience check that proves a token was issued
// to this server's LWA app, a bounded cache keyed by the token's SHA-256,
// coalescing of concurrent first uses, and the error table every adapter
// renders.
//
// A Verifier is safe for concurrent use; share one across routes, groups and
// frameworks so they share one cache.
package core
