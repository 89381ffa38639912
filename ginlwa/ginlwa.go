// Package ginlwa protects Gin routes with Login with Amazon (LWA) access
// tokens.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter, plus the custom
// headers and cookies of core.WithTokenHeader and core.WithTokenCookie),
// verifies it with a core.Verifier, and stores the request's credentials
// both in the *gin.Context (under core.ContextKey, so that
// core.FromContext(c) works on the *gin.Context itself) and in
// c.Request.Context(). A rejected request is aborted with the JSON body and
// status of the error table in package core, and its *core.Error is added
// to c.Errors for logging middleware.
//
//	r := gin.New()
//	r.Use(ginlwa.Require()) // client ID from LWA_CLIENT_ID
//	r.GET("/me", func(c *gin.Context) {
//		p, ok := ginlwa.Profile(c)
//		if !ok {
//			c.AbortWithStatus(http.StatusUnauthorized)
//			return
//		}
//		c.JSON(http.StatusOK, p)
//	})
//
// Require builds a verifier from options and the LWA_CLIENT_ID and
// LWA_ENDPOINT environment variables; New shares one core.Verifier (and so
// one cache) between routes, groups and frameworks; Optional, NeedFields
// and OnlyClients are New for the three common per-route requirements.
package ginlwa

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

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
	Skip func(c *gin.Context) bool

	// ErrorHandler, when set, answers rejected requests instead of the
	// default JSON error, for instance with c.AbortWithStatusJSON;
	// Cache-Control: no-store, WWW-Authenticate and Retry-After are already
	// set (it may override them). The middleware aborts the chain before
	// calling it, so even a c.Next() inside it runs nothing after the
	// middleware; it writes the default error if the handler wrote no
	// response; a 1xx or 2xx status the handler writes (or the implicit 200
	// of a write or a Flush) becomes the rejection's; hijacking the
	// connection is refused. CORS preflights answered by the middleware
	// never reach it.
	ErrorHandler func(c *gin.Context, err *core.Error)
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) gin.HandlerFunc {
	return New(kit.MustVerifier("ginlwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) gin.HandlerFunc {
	return New(kit.MustVerifier("ginlwa", opts...), cfg)
}

// Optional is New(v) for a route on which credentials are optional: a
// request without a token passes without a profile; a bad token is still
// rejected.
func Optional(v *core.Verifier) gin.HandlerFunc {
	return New(v, Config{Policy: core.Policy{Optional: true}})
}

// NeedFields is New(v) for a route that needs these profile fields
// (core.FieldEmail, core.FieldName, core.FieldPostalCode): a token whose
// customer did not share one is rejected with insufficient_scope.
func NeedFields(v *core.Verifier, fields ...string) gin.HandlerFunc {
	return New(v, Config{Policy: core.Policy{RequiredFields: fields}})
}

// OnlyClients is New(v) for a route that accepts only tokens issued to
// these client IDs (a route for devices only, say).
func OnlyClients(v *core.Verifier, clientIDs ...string) gin.HandlerFunc {
	return New(v, Config{Policy: core.Policy{ClientIDs: clientIDs}})
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil or the Config's Policy is invalid (an
// unknown required field, say).
//
// A request with a verified token continues with its credentials stored
// (read them with Profile, Token and TokenInfo, or core.FromContext(c)). A
// request that passes without a token (an optional route, a skipped
// request) continues without a profile. A CORS preflight is answered 204 by
// the middleware (see core.Policy). Any other request is aborted.
func New(v *core.Verifier, cfg ...Config) gin.HandlerFunc {
	conf := kit.Config("ginlwa", v, cfg, func(c Config) core.Policy { return c.Policy })
	return func(c *gin.Context) {
		if conf.Skip != nil && conf.Skip(c) {
			c.Next()
			return
		}
		req := v.RequestFromHTTP(c.Request)
		ctx, verified, err := v.Authenticate(c.Request.Context(), &req, conf.Policy)
		if err != nil {
			reject(c, conf.ErrorHandler, core.AsError(err))
			return
		}
		if verified {
			c.Set(core.ContextKey, ctx)
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()
	}
}

// reject aborts the chain and answers e, through the app's handler when
// there is one.
func reject(c *gin.Context, handler func(*gin.Context, *core.Error), e *core.Error) {
	c.Abort() // first: nothing after the middleware may run
	if errors.Is(e, core.ErrPreflight) {
		c.Status(http.StatusNoContent)
		c.Writer.WriteHeaderNow()
		return
	}
	_ = c.Error(e)
	if handler != nil {
		w := c.Writer
		e.SetHeaders(w.Header().Set)
		c.Writer = &guard{ResponseWriter: w, status: e.StatusCode()}
		handler(c, e)
		c.Writer = w
	}
	if !c.Writer.Written() {
		core.WriteError(c.Writer, e)
	}
}

// guard keeps a custom error handler from answering a rejection with a
// success, in gin's ResponseWriter: a 1xx or 2xx status becomes the
// rejection's, flushing writes the rejection's status first, and hijacking
// is refused.
type guard struct {
	gin.ResponseWriter
	status int
}

func (g *guard) WriteHeader(code int) {
	if code < http.StatusMultipleChoices {
		code = g.status
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *guard) fix() {
	if !g.Written() && g.ResponseWriter.Status() < http.StatusMultipleChoices {
		g.ResponseWriter.WriteHeader(g.status)
	}
}

func (g *guard) WriteHeaderNow() { g.fix(); g.ResponseWriter.WriteHeaderNow() }

func (g *guard) Write(b []byte) (int, error) { g.fix(); return g.ResponseWriter.Write(b) }

func (g *guard) WriteString(s string) (int, error) { g.fix(); return g.ResponseWriter.WriteString(s) }

func (g *guard) Flush() { g.WriteHeaderNow(); g.ResponseWriter.Flush() }

func (g *guard) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, kit.ErrHijackRefused }

// Profile returns the verified profile of the request, and whether there is
// one. It is core.FromContext(c): a copy, changing it changes nothing for
// other handlers.
func Profile(c *gin.Context) (core.Profile, bool) {
	return core.FromContext(c)
}

// Token returns the request's access token exactly as the middleware
// extracted it (from whichever source carried it), and whether the request
// has a verified one: what to pass to core.Verifier.Revoke on sign-out.
// Never log it.
func Token(c *gin.Context) (string, bool) {
	return core.TokenFromContext(c)
}

// TokenInfo returns the details of the request's verified token (the client
// ID and app it was issued to, when it was issued and when it expires), and
// whether there is one.
func TokenInfo(c *gin.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(c)
}
