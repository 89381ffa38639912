package main

// The demo's one call into core's adapter-facing API besides the adapter
// itself: the token of a request that the lwa middleware has verified, for
// sign-out (Verifier.Revoke) and for handing the sign-in to the other
// origin. It moves to the adapter's Token(r) once stdlwa has it.

import (
	"net/http"

	"github.com/go-lwa/lwa/core"
)

// requestToken returns the request's token as the middleware extracted it.
func requestToken(r *http.Request) (string, bool) {
	tok, err := core.TokenFromRequest(r)
	return tok, err == nil && tok != ""
}
