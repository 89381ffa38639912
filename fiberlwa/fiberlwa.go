// Package fiberlwa protects Fiber (v2) routes with Login with Amazon (LWA)
// access tokens.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter), verifies it with
// a core.Verifier, and stores the customer's profile both in c.Locals (under
// ProfileKey) and in c.UserContext(), so that code which only takes a
// context.Context can call core.FromContext. A rejected request is answered
// with the JSON body and status of the error table in package core.
//
//	app := fiber.New()
//	app.Use(fiberlwa.Require()) // client ID from LWA_CLIENT_ID
//	app.Get("/me", func(c *fiber.Ctx) error {
//		p, _ := fiberlwa.Profile(c)
//		return c.JSON(p)
//	})
//
// Require builds a verifier from options and the LWA_CLIENT_ID and
// LWA_ENDPOINT environment variables; New shares one core.Verifier (and so
// one cache) between routes, groups and frameworks.
//
// fasthttp reuses its request buffers once a handler returns: the verifier
// copies whatever it keeps, and the stored profile never points into them.
package fiberlwa

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/go-lwa/lwa/core"
)

// ProfileKey is the c.Locals key under which the middleware stores the
// verified profile (a *core.Profile, shared and not to be modified). Read it
// with Profile.
const ProfileKey = "lwa.profile"

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request except CORS preflights.
type Config struct {
	// Policy makes credentials optional on the route or subjects CORS
	// preflight requests to the check (see core.Policy).
	core.Policy

	// Next, when it returns true, skips the middleware: the request goes on
	// untouched, its token, if any, neither read nor verified, and it carries
	// no profile.
	Next func(c *fiber.Ctx) bool

	// ErrorHandler, when set, answers rejected requests instead of the
	// default JSON error. Its error is always a *core.Error; the middleware
	// returns what it returns, and the next handler is never called.
	ErrorHandler fiber.ErrorHandler

	// SuccessHandler, when set, runs instead of c.Next() for requests that
	// may go on (verified, optional without a token, or preflight).
	SuccessHandler fiber.Handler
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) fiber.Handler {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic("fiberlwa.Require: " + err.Error())
	}
	return New(v)
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil.
//
// A request with a verified token goes on with its profile stored (read it
// with Profile or core.FromContext(c.UserContext())). A request that passes
// without a token (an optional route, a CORS preflight) goes on without a
// profile. Any other request is rejected and goes no further.
func New(v *core.Verifier, cfg ...Config) fiber.Handler {
	if v == nil || len(cfg) > 1 {
		panic("fiberlwa.New: want a non-nil *core.Verifier and at most one Config")
	}
	var conf Config
	if len(cfg) == 1 {
		conf = cfg[0]
	}
	if conf.ErrorHandler == nil {
		conf.ErrorHandler = writeError
	}
	if conf.SuccessHandler == nil {
		conf.SuccessHandler = (*fiber.Ctx).Next
	}
	return func(c *fiber.Ctx) error {
		if conf.Next != nil && conf.Next(c) {
			return c.Next()
		}
		// The strings point into fasthttp's buffers and live only for this
		// call (core copies the token before anything can outlive it); one
		// value per source fits in the arrays without allocating.
		var auth, amz, query [1]string
		h := &c.Request().Header
		req := core.Request{
			Method: c.Method(),
			TokenSources: core.TokenSources{
				Authorization:  appendStrings(auth[:0], h.PeekAll(core.HeaderAuthorization)),
				AmzAccessToken: appendStrings(amz[:0], h.PeekAll(core.HeaderAmzAccessToken)),
				Query:          appendStrings(query[:0], c.Context().QueryArgs().PeekMulti(core.QueryAccessToken)),
			},
		}
		if req.Method == fiber.MethodOptions { // only a preflight needs it
			req.AccessControlRequestMethod = c.Get(fiber.HeaderAccessControlRequestMethod)
		}
		ctx, p, err := v.Authenticate(c.UserContext(), &req, conf.Policy)
		if err != nil {
			return conf.ErrorHandler(c, core.AsError(err))
		}
		if p != nil {
			c.Locals(ProfileKey, p)
			c.SetUserContext(ctx)
		}
		return conf.SuccessHandler(c)
	}
}

// appendStrings appends vals to dst without copying them. PeekAll reuses its
// result slice, so each result is converted before the next call.
func appendStrings(dst []string, vals [][]byte) []string {
	for _, b := range vals {
		dst = append(dst, utils.UnsafeString(b))
	}
	return dst
}

// writeError is the default ErrorHandler: the headers, status and JSON body
// of the rejection, as every adapter writes them.
func writeError(c *fiber.Ctx, err error) error {
	e := core.AsError(err)
	e.SetHeaders(c.Set)
	return c.Status(e.Status).Send(e.Body())
}

// Profile returns the verified profile of the request, and whether there is
// one. It returns a copy: changing it changes nothing for other handlers.
func Profile(c *fiber.Ctx) (core.Profile, bool) {
	if p, ok := c.Locals(ProfileKey).(*core.Profile); ok && p != nil {
		return *p, true
	}
	return core.Profile{}, false
}
