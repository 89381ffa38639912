// Package echolwa protects Echo (v4) routes with Login with Amazon (LWA)
// access tokens. For Echo v5, use package echov5lwa.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter, plus the custom
// headers and cookies of core.WithTokenHeader and core.WithTokenCookie),
// verifies it with a core.Verifier, and stores the request's credentials
// both in the echo.Context (under core.ContextKey) and in
// c.Request().Context(), so that code which only takes a context.Context
// can call core.FromContext.
//
// A rejection is returned as an *echo.HTTPError whose Message and Internal
// are the *core.Error: Echo's default HTTPErrorHandler writes the JSON body
// of the error table in package core, and a custom HTTPErrorHandler can get
// at the *core.Error with errors.As and render whatever it likes (HTML
// included). Cache-Control: no-store, WWW-Authenticate and Retry-After are
// set before any handler sees the rejection (they may override them); a
// 1xx or 2xx status, or the implicit 200 of a write or a flush, becomes the
// rejection's status, and hijacking the connection is refused, so no
// handler can turn a rejection into a success. A CORS preflight is
// answered 204 by the middleware (see core.Policy).
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
// one cache) between routes, groups and frameworks; Optional, NeedFields
// and OnlyClients are New for the three common per-route requirements.
package echolwa

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

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
	return New(kit.MustVerifier("echolwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skipper, a custom error handler
// or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) echo.MiddlewareFunc {
	return New(kit.MustVerifier("echolwa", opts...), cfg)
}

// Optional is New(v) for a route on which credentials are optional: a
// request without a token passes without a profile; a bad token is still
// rejected.
func Optional(v *core.Verifier) echo.MiddlewareFunc {
	return New(v, Config{Policy: core.Policy{Optional: true}})
}

// NeedFields is New(v) for a route that needs these profile fields
// (core.FieldEmail, core.FieldName, core.FieldPostalCode): a token whose
// customer did not share one is rejected with insufficient_scope.
func NeedFields(v *core.Verifier, fields ...string) echo.MiddlewareFunc {
	return New(v, Config{Policy: core.Policy{RequiredFields: fields}})
}

// OnlyClients is New(v) for a route that accepts only tokens issued to
// these client IDs (a route for devices only, say).
func OnlyClients(v *core.Verifier, clientIDs ...string) echo.MiddlewareFunc {
	return New(v, Config{Policy: core.Policy{ClientIDs: clientIDs}})
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil or the Config's Policy is invalid (an
// unknown required field, say).
//
// A request with a verified token continues with its credentials stored
// (read them with Profile, Token and TokenInfo). A request that passes
// without a token (an optional route, a skipped request) continues without
// a profile. Any other request is rejected and never reaches the next
// handler.
func New(v *core.Verifier, cfg ...Config) echo.MiddlewareFunc {
	conf := kit.Config("echolwa", v, cfg, func(c Config) core.Policy { return c.Policy })
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if conf.Skipper != nil && conf.Skipper(c) {
				return next(c)
			}
			r := c.Request()
			req := v.RequestFromHTTP(r)
			ctx, verified, err := v.Authenticate(r.Context(), &req, conf.Policy)
			if err != nil {
				return reject(c, conf.ErrorHandler, core.AsError(err))
			}
			if verified {
				c.Set(core.ContextKey, ctx)
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// reject answers e: the preflight itself, else through the app's handlers,
// guarded.
func reject(c echo.Context, handler func(echo.Context, *core.Error) error, e *core.Error) error {
	if errors.Is(e, core.ErrPreflight) {
		return c.NoContent(http.StatusNoContent)
	}
	status := e.StatusCode()
	if res := c.Response(); !res.Committed {
		res.Writer = kit.NewGuard(res.Writer, e)
		res.Before(func() {
			if res.Status < http.StatusMultipleChoices {
				res.Status = status
			}
		})
	}
	if handler != nil {
		if herr := handler(c, e); herr != nil || c.Response().Committed {
			return herr
		}
	}
	return &echo.HTTPError{Code: status, Message: e, Internal: e}
}

// credentials returns the context the middleware stored in c.
func credentials(c echo.Context) context.Context {
	ctx, _ := c.Get(core.ContextKey).(context.Context)
	return ctx
}

// Profile returns the verified profile of the request, and whether there is
// one: a copy, changing it changes nothing for other handlers.
func Profile(c echo.Context) (core.Profile, bool) {
	return core.FromContext(credentials(c))
}

// Token returns the request's access token exactly as the middleware
// extracted it (from whichever source carried it), and whether the request
// has a verified one: what to pass to core.Verifier.Revoke on sign-out.
// Never log it.
func Token(c echo.Context) (string, bool) {
	return core.TokenFromContext(credentials(c))
}

// TokenInfo returns the details of the request's verified token (the client
// ID and app it was issued to, when it was issued and when it expires), and
// whether there is one.
func TokenInfo(c echo.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(credentials(c))
}
