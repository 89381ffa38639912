// Package stdlwa protects net/http handlers with Login with Amazon (LWA)
// access tokens.
//
// Its middleware has the standard func(http.Handler) http.Handler shape, so
// it works unchanged with http.ServeMux, chi, gorilla/mux and any other
// router built on net/http. It reads the request's token (Authorization:
// Bearer, x-amz-access-token or the access_token query parameter, plus the
// custom headers and cookies of core.WithTokenHeader and
// core.WithTokenCookie), verifies it with a core.Verifier, and puts the
// customer's profile into the request's context.Context. Every rejection
// is answered with the JSON body and status of the error table in package
// core.
//
//	mux := http.NewServeMux()
//	mux.Handle("GET /me", stdlwa.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		p, ok := stdlwa.Profile(r) // or core.FromContext(r.Context())
//		if !ok {
//			http.Error(w, "no profile", http.StatusUnauthorized)
//			return
//		}
//		fmt.Fprintln(w, "hello", p.Name)
//	})))
//
// Require builds a verifier from options and the LWA_CLIENT_ID and
// LWA_ENDPOINT environment variables; New shares one core.Verifier (and so
// one cache) between routes and frameworks; Optional, NeedFields and
// OnlyClients are New for the three common per-route requirements.
package stdlwa

import (
	"errors"
	"net/http"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/kit"
)

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request except CORS preflights.
type Config struct {
	// Policy makes credentials optional on the route, requires profile
	// fields or client IDs, or changes how CORS preflights are handled (see
	// core.Policy). Optional, NeedFields and OnlyClients set it in one line.
	core.Policy

	// Skip, when it returns true, lets the request through untouched: its
	// token, if any, is neither read nor verified and it carries no profile.
	Skip func(r *http.Request) bool

	// ErrorHandler, when set, answers rejected requests instead of the
	// default JSON error. It receives the rejection (status, code,
	// description and Amazon's request id) and should write a response;
	// Cache-Control: no-store, WWW-Authenticate and Retry-After are already
	// set (it may override them). The protected handler is never called,
	// whatever it does: if it writes nothing, the default JSON error is
	// written; a 1xx or 2xx status it writes, or the implicit 200 of a Write
	// or a Flush, becomes the rejection's status; hijacking the connection
	// is refused. CORS preflights answered by the middleware never reach it.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err *core.Error)
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) func(http.Handler) http.Handler {
	return New(kit.MustVerifier("stdlwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) func(http.Handler) http.Handler {
	return New(kit.MustVerifier("stdlwa", opts...), cfg)
}

// Optional is New(v) for a route on which credentials are optional: a
// request without a token passes without a profile; a bad token is still
// rejected.
func Optional(v *core.Verifier) func(http.Handler) http.Handler {
	return New(v, Config{Policy: core.Policy{Optional: true}})
}

// NeedFields is New(v) for a route that needs these profile fields
// (core.FieldEmail, core.FieldName, core.FieldPostalCode): a token whose
// customer did not share one is rejected with insufficient_scope.
func NeedFields(v *core.Verifier, fields ...string) func(http.Handler) http.Handler {
	return New(v, Config{Policy: core.Policy{RequiredFields: fields}})
}

// OnlyClients is New(v) for a route that accepts only tokens issued to
// these client IDs (a route for devices only, say).
func OnlyClients(v *core.Verifier, clientIDs ...string) func(http.Handler) http.Handler {
	return New(v, Config{Policy: core.Policy{ClientIDs: clientIDs}})
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, routers and frameworks. At most one Config may be
// given. New panics if v is nil or the Config's Policy is invalid (an
// unknown required field, say).
//
// A request with a verified token reaches next with its credentials in its
// context (read them with Profile, Token and TokenInfo). A request that
// passes without a token (an optional route, a skipped request) reaches
// next without a profile. A CORS preflight is answered 204 by the middleware
// (see core.Policy). Any other request is rejected and never reaches next.
func New(v *core.Verifier, cfg ...Config) func(http.Handler) http.Handler {
	c := kit.Config("stdlwa", v, cfg, func(c Config) core.Policy { return c.Policy })
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.Skip != nil && c.Skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			req := v.RequestFromHTTP(r)
			ctx, verified, err := v.Authenticate(r.Context(), &req, c.Policy)
			switch {
			case err != nil && c.ErrorHandler != nil && !errors.Is(err, core.ErrPreflight):
				e := core.AsError(err)
				g := kit.NewGuard(w, e)
				c.ErrorHandler(g, r, e)
				if !g.Written() {
					core.WriteError(w, e)
				}
			case err != nil:
				core.WriteError(w, err)
			case verified:
				next.ServeHTTP(w, r.WithContext(ctx))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// Profile returns the verified profile of r, and whether there is one. It
// is core.FromContext(r.Context()).
func Profile(r *http.Request) (core.Profile, bool) {
	return core.FromContext(r.Context())
}

// Token returns r's access token exactly as the middleware extracted it
// (from whichever source carried it), and whether r has a verified one: what
// to pass to core.Verifier.Revoke on sign-out. Never log it.
func Token(r *http.Request) (string, bool) {
	return core.TokenFromContext(r.Context())
}

// TokenInfo returns the details of r's verified token (the client ID and
// app it was issued to, when it was issued and when it expires), and
// whether there is one.
func TokenInfo(r *http.Request) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(r.Context())
}
