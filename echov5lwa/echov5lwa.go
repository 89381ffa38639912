// Package echov5lwa protects Echo v5 routes with Login with Amazon (LWA)
// access tokens. For Echo v4, use package echolwa. Import it next to Echo
// v5 as is; both packages are named for their Echo major:
//
//	import (
//		"github.com/labstack/echo/v5"
//
//		"github.com/go-lwa/lwa/echov5lwa"
//	)
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter, plus the custom
// headers and cookies of core.WithTokenHeader and core.WithTokenCookie),
// verifies it with a core.Verifier, and stores the request's credentials
// both in the *echo.Context (under core.ContextKey) and in
// c.Request().Context(), so that code which only takes a context.Context
// can call core.FromContext.
//
// A rejection is returned to Echo's HTTPErrorHandler as an error that
// errors.As finds as a *core.Error and as an echo.HTTPStatusCoder whose
// JSON form is the error table's body: Echo v5's default HTTPErrorHandler
// answers with the table's status and body, and a custom HTTPErrorHandler
// gets at the *core.Error with errors.As. Cache-Control: no-store,
// WWW-Authenticate and Retry-After are set before any handler sees the
// rejection (they may override them); a 1xx or 2xx status, or the implicit
// 200 of a write or a flush, becomes the rejection's status, and hijacking
// the connection is refused. A CORS preflight is answered by the middleware
// itself with a bare 204.
//
//	e := echo.New()
//	e.Use(echov5lwa.Require()) // client ID from LWA_CLIENT_ID
//	e.GET("/me", func(c *echo.Context) error {
//		p, ok := echov5lwa.Profile(c)
//		if !ok { // only on an optional or skipped route
//			return c.NoContent(http.StatusNoContent)
//		}
//		return c.JSON(http.StatusOK, p)
//	})
//
// Require builds a verifier from options and the LWA_CLIENT_ID and
// LWA_ENDPOINT environment variables; New shares one core.Verifier (and so
// one cache) between routes, groups and frameworks; Optional, NeedFields
// and OnlyClients are New for the three common per-route requirements.
package echov5lwa

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/kit"
)

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request, and answers CORS preflights with 204.
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
	// default, which returns the rejection to Echo's HTTPErrorHandler. The
	// next handler is never called. When it returns an error, the
	// middleware returns that error (one that wraps the *core.Error it got
	// keeps the rejection's status for Echo's HTTPErrorHandler). When it
	// returns nil without having written a response, the middleware returns
	// the rejection, as by default. A 2xx status it writes is replaced by
	// the rejection's status: a rejection never becomes a success.
	ErrorHandler func(c *echo.Context, err *core.Error) error
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) echo.MiddlewareFunc {
	return New(kit.MustVerifier("echov5lwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skipper, a custom error handler
// or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) echo.MiddlewareFunc {
	return New(kit.MustVerifier("echov5lwa", opts...), cfg)
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
	conf := kit.Config("echov5lwa", v, cfg, func(c Config) core.Policy { return c.Policy })
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
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
func reject(c *echo.Context, handler func(*echo.Context, *core.Error) error, e *core.Error) error {
	if errors.Is(e, core.ErrPreflight) {
		return c.NoContent(http.StatusNoContent)
	}
	resp, _ := echo.UnwrapResponse(c.Response())
	if resp != nil && !resp.Committed {
		resp.ResponseWriter = kit.NewGuard(resp.ResponseWriter, e)
		status := e.StatusCode()
		resp.Before(func() {
			if resp.Status < http.StatusMultipleChoices {
				resp.Status = status
			}
		})
	}
	if handler != nil {
		err := handler(c, e)
		var ce *core.Error
		if err != nil && echo.StatusCode(err) == 0 && errors.As(err, &ce) {
			return &rejection{ce, err} // the rejection handed on, maybe wrapped
		}
		if err != nil || (resp != nil && resp.Committed) {
			return err
		}
	}
	return &rejection{e, e}
}

// rejection is a *core.Error handed to Echo's HTTPErrorHandler: errors.As
// finds the *core.Error (and whatever error wraps it), echo.StatusCode
// finds its status, and its JSON form is the error table's body.
type rejection struct {
	e   *core.Error
	err error // e, or a custom ErrorHandler's error that wraps it
}

func (r *rejection) Error() string { return r.err.Error() }

func (r *rejection) Unwrap() error { return r.err }

func (r *rejection) StatusCode() int { return r.e.StatusCode() }

func (r *rejection) MarshalJSON() ([]byte, error) { return r.e.MarshalJSON() }

// credentials returns the context the middleware stored in c.
func credentials(c *echo.Context) context.Context {
	ctx, _ := c.Get(core.ContextKey).(context.Context)
	return ctx
}

// Profile returns the verified profile of the request, and whether there is
// one: a copy, changing it changes nothing for other handlers.
func Profile(c *echo.Context) (core.Profile, bool) {
	return core.FromContext(credentials(c))
}

// Token returns the request's access token exactly as the middleware
// extracted it (from whichever source carried it), and whether the request
// has a verified one: what to pass to core.Verifier.Revoke on sign-out.
// Never log it.
func Token(c *echo.Context) (string, bool) {
	return core.TokenFromContext(credentials(c))
}

// TokenInfo returns the details of the request's verified token (the client
// ID and app it was issued to, when it was issued and when it expires), and
// whether there is one.
func TokenInfo(c *echo.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(credentials(c))
}
