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
//		p, ok := fiberlwa.Profile(c)
//		if !ok {
//			return fiber.ErrUnauthorized
//		}
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
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/fastreq"
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
	// default JSON error. Its error is always a *core.Error. If it returns
	// nil without writing a body, the default JSON error is written; a 1xx
	// or 2xx status it sets is replaced by the rejection's. If it returns an
	// error, that goes on to the app's fiber.Config.ErrorHandler; a
	// *core.Error is handed on so that errors.As finds it both as a
	// *core.Error and as a *fiber.Error carrying the table's status, which
	// fiber.DefaultErrorHandler answers with. Fiber cannot stop this handler
	// from calling c.Next(): doing so runs the protected handlers without a
	// profile, so never call it here.
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
	return New(core.MustVerifier("fiberlwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) fiber.Handler {
	return New(core.MustVerifier("fiberlwa", opts...), cfg)
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil.
//
// A request with a verified token goes on with its profile stored (read it
// with Profile or core.FromContext(c.UserContext())). A request that passes
// without a token (an optional route, a skipped request) goes on without a
// profile. A CORS preflight is answered 204 by the middleware (see
// core.Policy). Any other request is rejected and goes no further.
func New(v *core.Verifier, cfg ...Config) fiber.Handler {
	conf := core.AdapterConfig("fiberlwa", v, cfg)
	if conf.SuccessHandler == nil {
		conf.SuccessHandler = (*fiber.Ctx).Next
	}
	return func(c *fiber.Ctx) error {
		if conf.Next != nil && conf.Next(c) {
			return c.Next()
		}
		// The strings point into fasthttp's buffers and live only for this
		// call (core copies the token before anything can outlive it).
		var buf fastreq.Buffer
		req := fastreq.Read(c.Context(), v, &buf)
		ctx, p, err := v.Authenticate(c.UserContext(), &req, conf.Policy)
		if err != nil {
			return reject(c, conf.ErrorHandler, core.AsError(err))
		}
		if p != nil {
			c.Locals(ProfileKey, p)
			c.SetUserContext(ctx)
		}
		return conf.SuccessHandler(c)
	}
}

// reject answers a rejection through the custom handler h, if any, with the
// guarantees its doc gives.
func reject(c *fiber.Ctx, h fiber.ErrorHandler, e *core.Error) error {
	if errors.Is(e, core.ErrPreflight) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	if h == nil {
		return writeError(c, e)
	}
	if err := h(c, e); err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			return rejection{ce}
		}
		return err
	}
	if res := c.Response(); res.StatusCode() < fiber.StatusMultipleChoices {
		if len(res.Body()) == 0 && !res.IsBodyStream() {
			return writeError(c, e) // nothing written
		}
		res.SetStatusCode(core.RejectionStatus(e))
	}
	return nil
}

// rejection hands a *core.Error on to the app's ErrorHandler as both a
// *core.Error and a *fiber.Error with the table's status.
type rejection struct{ e *core.Error }

func (r rejection) Error() string { return r.e.Error() }

func (r rejection) Unwrap() []error {
	return []error{r.e, &fiber.Error{Code: core.RejectionStatus(r.e), Message: r.e.Error()}}
}

// writeError is the default ErrorHandler: the headers, status and JSON body
// of the rejection, as every adapter writes them.
func writeError(c *fiber.Ctx, e *core.Error) error {
	e.SetHeaders(c.Set)
	return c.Status(core.RejectionStatus(e)).Send(e.Body())
}

// Profile returns the verified profile of the request, and whether there is
// one. It returns a copy: changing it changes nothing for other handlers.
func Profile(c *fiber.Ctx) (core.Profile, bool) {
	if p, ok := c.Locals(ProfileKey).(*core.Profile); ok && p != nil {
		return *p, true
	}
	return core.Profile{}, false
}

// TokenInfo returns the details of the request's verified token (the client
// ID it was issued to, when it was issued and when it expires), and whether
// there is one. It is core.TokenInfoFromContext(c.UserContext()).
func TokenInfo(c *fiber.Ctx) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(c.UserContext())
}
