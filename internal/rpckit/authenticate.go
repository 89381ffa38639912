package rpckit

import (
	"context"
	"net/http"

	"github.com/go-lwa/lwa/core"
)

// This file holds every call the RPC adapters make into core's
// adapter-facing API (Verifier.Authenticate, TokenHeaders, TokenCookies),
// so that re-wiring them is one file's work.

// Authenticate is core.Verifier.Authenticate for one call with the given
// policy: for a verified token, a context carrying the credentials and
// true; for a call that may pass without credentials, ctx and false; else
// a *core.Error.
func (g *Guard) Authenticate(ctx context.Context, req *core.Request, pol *core.Policy) (context.Context, bool, error) {
	return g.v.Authenticate(ctx, req, *pol)
}

// tokenSources returns the verifier's custom token headers (canonical, as
// net/http keys them) and cookies.
func tokenSources(v *core.Verifier) (headers, cookies []string) {
	return v.TokenHeaders(), v.TokenCookies()
}

// CookieValues returns the values of the cookies named names found in the
// Cookie header lines, in order, as net/http's Request.CookiesNamed reads
// them (invalid pairs are skipped).
func CookieValues(lines, names []string) []string {
	if len(lines) == 0 || len(names) == 0 {
		return nil
	}
	r := http.Request{Header: http.Header{"Cookie": lines}}
	var vals []string
	for _, name := range names {
		for _, c := range r.CookiesNamed(name) {
			vals = append(vals, c.Value)
		}
	}
	return vals
}
