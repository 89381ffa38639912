// Package echolwa protects Echo (v4) routes with Login with Amazon (LWA)
// access tokens.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter), verifies it with
// a core.Verifier, and stores the customer's profile both in the
// echo.Context (under ProfileKey) and in c.Request().Context(), so that code
// which only takes a context.Context can call core.FromContext.
//
// A rejection is returned as an *echo.HTTPError whose Message and Internal
// are the *core.Error: Echo's default HTTPErrorHandler writes the JSON body
// of the error table in package core, and a custom HTTPErrorHandler can get
// at the *core.Error with errors.As and render whatever it likes (HTML
// included): the middleware sets no header before it renders. When the
// rejection's status is written, Cache-Control: no-store and, on 400 and
// 401, WWW-Authenticate are added unless the handler set them; a 1xx or 2xx
// status is replaced by the rejection's, so no handler can turn a rejection
// into a success. A CORS preflight is answered 204 by the middleware (see
// core.Policy).
//
//	e := echo.New()
//	e.Use(echolwa.Require()) // client ID from LWA_CLIENT_ID
//	e.GET("/me", func(c echo.Context) error {
//		p, ok := echolwa.Profile(c)
//		if !ok {
//			return echo.ErrUnauthorized
//		}
//		return c.JSON(http.StatusOK, p)
//	})
//
// Require builds a verifier from options and the LWA_CLIENT_ID and
// LWA_ENDPOINT environment variables; New shares one core.Verifier (and so
// one cache) between routes, groups and frameworks.
package echolwa

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/go-lwa/lwa/core"
)

// ProfileKey is the key under which the middleware stores the verified
// profile (a *core.Profile, shared and not to be modified) with c.Set. Read
// it with Profile.
const ProfileKey = "lwa.profile"

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request except CORS preflights.
type Config struct {
	// Policy makes credentials optional on the route or subjects CORS
	// preflight requests to the check (see core.Policy).
	core.Policy

	// Skipper, when it returns true, lets the request through untouched:
	// its token, if any, is neither read nor verified and it carries no
	// profile. Default: skip nothing.
	Skipper middleware.Skipper

	// ErrorHandler, when set, handles rejected requests instead of the
	// default, which returns an *echo.HTTPError for Echo's HTTPErrorHandler.
	// The middleware returns what it returns (an error goes on to Echo's
	// HTTPErrorHandler); if it returns nil without writing a response, the
	// default *echo.HTTPError is returned instead. The next handler is
	// never called.
	ErrorHandler func(c echo.Context, err *core.Error) error
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) echo.MiddlewareFunc {
	return New(core.MustVerifier("echolwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) echo.MiddlewareFunc {
	return New(core.MustVerifier("echolwa", opts...), cfg)
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil.
//
// A request with a verified token reaches next with its profile stored (read
// it with Profile or core.FromContext(c.Request().Context())). A request that
// passes without a token (an optional route, a skipped request) reaches next
// without a profile. A CORS preflight is answered 204. Any other request is
// rejected and never reaches next.
func New(v *core.Verifier, cfg ...Config) echo.MiddlewareFunc {
	conf := core.AdapterConfig("echolwa", v, cfg)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if conf.Skipper != nil && conf.Skipper(c) {
				return next(c)
			}
			r := c.Request()
			req := v.RequestFromHTTP(r)
			ctx, p, err := v.Authenticate(r.Context(), &req, conf.Policy)
			if err != nil {
				e := core.AsError(err)
				if errors.Is(e, core.ErrPreflight) {
					return c.NoContent(http.StatusNoContent)
				}
				res := c.Response()
				status := core.RejectionStatus(e)
				res.Before(func() {
					if res.Status < http.StatusMultipleChoices {
						res.Status = status
					}
					if res.Status == status {
						h := res.Header()
						e.SetAuthHeaders(func(k, v string) {
							if h.Get(k) == "" {
								h.Set(k, v)
							}
						})
					}
				})
				if conf.ErrorHandler != nil {
					if herr := conf.ErrorHandler(c, e); herr != nil || res.Committed {
						return herr
					}
				}
				return &echo.HTTPError{Code: status, Message: e, Internal: e}
			}
			if p != nil {
				c.Set(ProfileKey, p)
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// Profile returns the verified profile of the request, and whether there is
// one. It returns a copy: changing it changes nothing for other handlers.
func Profile(c echo.Context) (core.Profile, bool) {
	if p, ok := c.Get(ProfileKey).(*core.Profile); ok && p != nil {
		return *p, true
	}
	return core.Profile{}, false
}

// TokenInfo returns the details of the request's verified token (the client
// ID it was issued to, when it was issued and when it expires), and whether
// there is one. It is core.TokenInfoFromContext(c.Request().Context()).
func TokenInfo(c echo.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(c.Request().Context())
}
