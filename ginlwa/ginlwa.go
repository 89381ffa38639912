// Package ginlwa protects Gin routes with Login with Amazon (LWA) access
// tokens.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter), verifies it with
// a core.Verifier, and stores the customer's profile both in the
// *gin.Context (under ProfileKey) and in c.Request.Context(), so that code
// which only takes a context.Context can call core.FromContext. A rejected
// request is aborted with the JSON body and status of the error table in
// package core, and its *core.Error is added to c.Errors for logging
// middleware.
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
// one cache) between routes, groups and frameworks.
package ginlwa

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

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

	// Skip, when it returns true, lets the request through untouched: its
	// token, if any, is neither read nor verified and it carries no profile.
	Skip func(c *gin.Context) bool

	// ErrorHandler, when set, answers rejected requests instead of the
	// default JSON error, for instance with c.AbortWithStatusJSON. The
	// middleware aborts the chain before calling it, so even a c.Next()
	// inside it runs nothing after the middleware; it writes the default
	// error if the handler wrote no response, and the rejection's status in
	// place of a 1xx or 2xx one. CORS preflights answered by the middleware
	// never reach it.
	ErrorHandler func(c *gin.Context, err *core.Error)
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) gin.HandlerFunc {
	return New(core.MustVerifier("ginlwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) gin.HandlerFunc {
	return New(core.MustVerifier("ginlwa", opts...), cfg)
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil.
//
// A request with a verified token continues with its profile stored (read it
// with Profile or core.FromContext(c.Request.Context())). A request that
// passes without a token (an optional route, a skipped request) continues
// without a profile. A CORS preflight is answered 204 by the middleware (see
// core.Policy). Any other request is aborted.
func New(v *core.Verifier, cfg ...Config) gin.HandlerFunc {
	conf := core.AdapterConfig("ginlwa", v, cfg)
	return func(c *gin.Context) {
		if conf.Skip != nil && conf.Skip(c) {
			c.Next()
			return
		}
		req := v.RequestFromHTTP(c.Request)
		ctx, p, err := v.Authenticate(c.Request.Context(), &req, conf.Policy)
		if err != nil {
			e := core.AsError(err)
			c.Abort() // first: nothing after the middleware may run
			if errors.Is(e, core.ErrPreflight) {
				c.Status(http.StatusNoContent)
				c.Writer.WriteHeaderNow()
				return
			}
			_ = c.Error(e)
			if conf.ErrorHandler != nil {
				w := c.Writer
				c.Writer = &guard{ResponseWriter: w, status: core.RejectionStatus(e)}
				conf.ErrorHandler(c, e)
				c.Writer = w
			}
			if !c.Writer.Written() {
				core.WriteError(c.Writer, e)
			}
			return
		}
		if p != nil {
			c.Set(ProfileKey, p)
			c.Request = c.Request.WithContext(ctx)
		}
		c.Next()
	}
}

// guard keeps a custom error handler from answering a rejection with a
// success: a 1xx or 2xx status becomes the rejection's (the same rule as
// core.GuardRejection, in gin's ResponseWriter).
type guard struct {
	gin.ResponseWriter
	status int
}

func (g *guard) WriteHeader(code int) {
	if code < 300 {
		code = g.status
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *guard) fix() {
	if !g.Written() && g.ResponseWriter.Status() < 300 {
		g.ResponseWriter.WriteHeader(g.status)
	}
}

func (g *guard) WriteHeaderNow() { g.fix(); g.ResponseWriter.WriteHeaderNow() }

func (g *guard) Write(b []byte) (int, error) { g.fix(); return g.ResponseWriter.Write(b) }

func (g *guard) WriteString(s string) (int, error) { g.fix(); return g.ResponseWriter.WriteString(s) }

// Profile returns the verified profile of the request, and whether there is
// one. It returns a copy: changing it changes nothing for other handlers.
func Profile(c *gin.Context) (core.Profile, bool) {
	v, _ := c.Get(ProfileKey)
	if p, ok := v.(*core.Profile); ok && p != nil {
		return *p, true
	}
	return core.Profile{}, false
}

// TokenInfo returns the details of the request's verified token (the client
// ID it was issued to, when it was issued and when it expires), and whether
// there is one. It is core.TokenInfoFromContext(c.Request.Context()).
func TokenInfo(c *gin.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(c.Request.Context())
}
