package main

// Every call into core's and stdlwa's adapter-facing API is in this file,
// so that a change of that API (stdlwa.Config's policy fields, an
// accessor for the request's token) is re-wired here and nowhere else.

import (
	"log/slog"
	"net/http"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/stdlwa"
)

// verifierOptions turns the configuration into the verifier's options.
// shared and obs may be nil.
func verifierOptions(c *config, shared core.SharedCache, obs core.Observer, log *slog.Logger) []core.Option {
	opts := []core.Option{
		core.WithClientID(c.clientIDs...),
		core.WithEndpoint(c.endpoint),
		core.WithTimeout(c.timeout),
		core.WithCacheTTL(c.cacheTTL),
		core.WithNegativeCacheTTL(c.negativeTTL),
		core.WithLocalCacheTTL(c.localTTL),
		core.WithStaleIfError(c.staleIfError),
		core.WithCircuitBreaker(c.breakerFails, c.breakerCool),
		core.WithConcurrency(c.maxConc, c.maxPending),
		core.WithRequiredFields(c.required...),
		core.WithQueryToken(c.queryToken),
		core.WithLogger(log),
	}
	if len(c.appIDs) > 0 {
		opts = append(opts, core.WithAppID(c.appIDs...))
	}
	if c.tokenHeader != "" {
		opts = append(opts, core.WithTokenHeader(c.tokenHeader))
	}
	if c.tokenCookie != "" {
		opts = append(opts, core.WithTokenCookie(c.tokenCookie))
	}
	if c.rfc6750 {
		opts = append(opts, core.WithRFC6750Statuses())
	}
	if shared != nil {
		opts = append(opts, core.WithSharedCache(shared), core.WithSharedKeys(c.sharedKeys...))
	}
	if obs != nil {
		opts = append(opts, core.WithObserver(obs))
	}
	return opts
}

// policy is what one decision requires beyond the verifier's own checks.
type policy struct {
	required      []string // profile fields (core.FieldEmail, ...)
	passPreflight bool     // let CORS preflights through without identity
}

// protect returns the stdlwa middleware that decides one request under
// pol. A rejection is written by reject, or by stdlwa's default writer
// (the error table's status, JSON body, WWW-Authenticate, Cache-Control
// and Retry-After) when reject is nil. CORS preflights are never answered
// by the middleware itself, whose 204 would read as "allowed" to a proxy:
// they are either checked like any request (and so rejected: a preflight
// carries no token) or, with passPreflight, handed to next without a
// profile.
func protect(v *core.Verifier, pol policy, reject func(http.ResponseWriter, *http.Request, *core.Error)) func(http.Handler) http.Handler {
	return stdlwa.New(v, stdlwa.Config{
		Policy: core.Policy{
			RequiredFields: pol.required,
			CheckPreflight: !pol.passPreflight,
			PassPreflight:  pol.passPreflight,
		},
		ErrorHandler: reject,
	})
}

// verified returns the verified profile of r, stored by protect's
// middleware, and the token's details.
func verified(r *http.Request) (core.Profile, core.TokenInfo, bool) {
	p, ok := stdlwa.Profile(r)
	if !ok {
		return core.Profile{}, core.TokenInfo{}, false
	}
	info, _ := stdlwa.TokenInfo(r)
	return p, info, true
}

// presentedToken returns the token of r as protect's middleware extracted
// and verified it (from whichever source carried it).
func presentedToken(r *http.Request) (string, bool) { return stdlwa.Token(r) }

// rejectionStatus is the status e is answered with (500 for a hand-made
// error outside 400–599).
func rejectionStatus(e *core.Error) int { return e.StatusCode() }

// rejectionBody is e's JSON body, as every adapter writes it.
func rejectionBody(e *core.Error) []byte { return e.Body() }

// setAuthHeaders calls set with e's headers that do not describe its
// body: Cache-Control, WWW-Authenticate, Retry-After.
func setAuthHeaders(e *core.Error, set func(k, v string)) { e.SetHeaders(set) }

// writeError writes err with the error table's status, headers and body.
func writeError(w http.ResponseWriter, err error) { core.WriteError(w, err) }

// internalError is the rejection of a request lwaauthz cannot decide (a
// malformed decision URL, a state that cannot happen): 500 server_error.
func internalError(description string) *core.Error { return core.NewError(nil, description) }
