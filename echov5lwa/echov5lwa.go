// Package echov5lwa protects Echo v5 routes with Login with Amazon (LWA)
// access tokens. For Echo v4, use package echolwa.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter), verifies it with
// a core.Verifier, and stores the customer's profile both in the
// *echo.Context (under ProfileKey) and in c.Request().Context(), so that
// code which only takes a context.Context can call core.FromContext.
//
// A rejection is returned to Echo's HTTPErrorHandler as an error that
// errors.As finds as a *core.Error and as an echo.HTTPStatusCoder whose
// JSON form is the error table's body: Echo v5's default HTTPErrorHandler
// answers with the table's status and body, and a custom HTTPErrorHandler
// gets at the *core.Error with errors.As. The middleware sets no response
// header before the HTTPErrorHandler runs; when the response goes out with
// the rejection's status, Cache-Control: no-store and (on 400 and 401) the
// WWW-Authenticate challenge are added unless the handler set them. A CORS
// preflight is answered by the middleware itself with a bare 204.
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
// one cache) between routes, groups and frameworks.
package echov5lwa

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	"github.com/go-lwa/lwa/core"
)

// ProfileKey is the key under which the middleware stores the verified
// profile (a *core.Profile, shared and not to be modified) with c.Set. Read
// it with Profile.
const ProfileKey = "lwa.profile"

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request, and answers CORS preflights with 204.
type Config struct {
	// Policy makes credentials optional on the route, or changes how CORS
	// preflight requests are treated (see core.Policy).
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
	return New(core.MustVerifier("echov5lwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) echo.MiddlewareFunc {
	return New(core.MustVerifier("echov5lwa", opts...), cfg)
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil.
//
// A request with a verified token reaches next with its profile stored (read
// it with Profile or core.FromContext(c.Request().Context())). A request that
// passes without a token (an optional route, a skipped request, a preflight
// under Policy.PassPreflight) reaches next without a profile. A CORS
// preflight is otherwise answered with a bare 204. Any other request is
// rejected and never reaches next.
func New(v *core.Verifier, cfg ...Config) echo.MiddlewareFunc {
	conf := core.AdapterConfig("echov5lwa", v, cfg)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if conf.Skipper != nil && conf.Skipper(c) {
				return next(c)
			}
			r := c.Request()
			req := v.RequestFromHTTP(r)
			ctx, p, err := v.Authenticate(r.Context(), &req, conf.Policy)
			if err != nil {
				return reject(c, conf.ErrorHandler, core.AsError(err))
			}
			if p != nil {
				c.Set(ProfileKey, p)
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// reject answers a request that may not go on.
func reject(c *echo.Context, handler func(*echo.Context, *core.Error) error, e *core.Error) error {
	if errors.Is(e, core.ErrPreflight) {
		return c.NoContent(http.StatusNoContent)
	}
	resp, _ := echo.UnwrapResponse(c.Response())
	if resp != nil && !resp.Committed {
		resp.Before(func() { onWrite(resp, e) })
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

// onWrite runs just before the response's status is written: a 2xx becomes
// the rejection's status, and a response with the rejection's status gets
// the headers of the error table that its writer did not set.
func onWrite(resp *echo.Response, e *core.Error) {
	status := core.RejectionStatus(e)
	if resp.Status < http.StatusMultipleChoices {
		resp.Status = status
	}
	if resp.Status != status {
		return
	}
	h := resp.Header()
	e.SetAuthHeaders(func(k, v string) {
		if h.Get(k) == "" {
			h.Set(k, v)
		}
	})
}

// rejection is the error the middleware returns to Echo's HTTPErrorHandler
// for a rejected request. It is an echo.HTTPStatusCoder (the rejection's
// status) and a json.Marshaler (the error table's body): Echo v5's default
// HTTPErrorHandler writes that status and that body. errors.As finds the
// *core.Error it wraps.
type rejection struct {
	e   *core.Error
	err error // e, or a custom ErrorHandler's error that wraps it
}

// Error returns the rejection's one-line summary, which never contains the
// token.
func (r *rejection) Error() string { return r.err.Error() }

// Unwrap returns the *core.Error, or the error wrapping it that a custom
// ErrorHandler returned.
func (r *rejection) Unwrap() error { return r.err }

// StatusCode returns the rejection's HTTP status (echo.HTTPStatusCoder).
func (r *rejection) StatusCode() int { return r.e.Status }

// MarshalJSON returns the error table's body (see core.Error.MarshalJSON).
func (r *rejection) MarshalJSON() ([]byte, error) { return r.e.MarshalJSON() }

// Profile returns the verified profile of the request, and whether there is
// one. It returns a copy: changing it changes nothing for other handlers.
func Profile(c *echo.Context) (core.Profile, bool) {
	if p, ok := c.Get(ProfileKey).(*core.Profile); ok && p != nil {
		return *p, true
	}
	return core.Profile{}, false
}

// TokenInfo returns the details of the request's verified token (the client
// ID it was issued to, when it was issued and when it expires), and whether
// there is one. It is core.TokenInfoFromContext(c.Request().Context()).
func TokenInfo(c *echo.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(c.Request().Context())
}
