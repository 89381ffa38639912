// Package fiberv3lwa protects Fiber v3 routes with Login with Amazon (LWA)
// access tokens. For Fiber v2, use package fiberlwa.
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter), verifies it with
// a core.Verifier, and stores the customer's profile both in c.Locals (under
// ProfileKey) and in c.Context(), so that code which only takes a
// context.Context can call core.FromContext(c.Context()). A rejected request
// is answered with the JSON body, status and headers of the error table in
// package core; a CORS preflight is answered with a bare 204.
//
//	app := fiber.New()
//	app.Use(fiberv3lwa.Require()) // client ID from LWA_CLIENT_ID
//	app.Get("/me", func(c fiber.Ctx) error {
//		p, ok := fiberv3lwa.Profile(c)
//		if !ok { // only on an optional or skipped route
//			return c.SendStatus(fiber.StatusNoContent)
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
package fiberv3lwa

import (
	"errors"

	"github.com/gofiber/fiber/v3"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/fastreq"
)

// ProfileKey is the c.Locals key under which the middleware stores the
// verified profile (a *core.Profile, shared and not to be modified). Read it
// with Profile.
const ProfileKey = "lwa.profile"

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request, and answers CORS preflights with 204.
type Config struct {
	// Policy makes credentials optional on the route, or changes how CORS
	// preflight requests are treated (see core.Policy).
	core.Policy

	// Next, when it returns true, skips the middleware: the request goes on
	// untouched, its token, if any, neither read nor verified, and it carries
	// no profile.
	Next func(c fiber.Ctx) bool

	// ErrorHandler, when set, answers rejected requests instead of the
	// default JSON error. The error it receives matches both *core.Error
	// (the rejection) and *fiber.Error (its status) with errors.As, and
	// marshals to the error table's JSON body; returning it hands it to the
	// app's fiber.Config.ErrorHandler, which fiber.DefaultErrorHandler
	// answers with the rejection's status. Returning an error that wraps
	// the *core.Error does the same.
	//
	// When it returns nil and the response is still a 2xx without a body
	// (nothing written), the middleware writes the default JSON error; a
	// 2xx with a body has its status replaced by the rejection's. The
	// middleware never calls the next handler for a rejected request, but
	// Fiber cannot stop ErrorHandler itself from calling c.Next(): it must
	// not, or the protected handler runs without a profile.
	ErrorHandler fiber.ErrorHandler

	// SuccessHandler, when set, runs instead of c.Next() for requests that
	// may go on (verified, or optional without a token, or a preflight
	// under Policy.PassPreflight); it should call c.Next().
	SuccessHandler fiber.Handler
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) fiber.Handler {
	return New(core.MustVerifier("fiberv3lwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a skip function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) fiber.Handler {
	return New(core.MustVerifier("fiberv3lwa", opts...), cfg)
}

// New returns middleware that verifies requests with v, which may be shared
// by any number of routes, groups and frameworks. At most one Config may be
// given. New panics if v is nil.
//
// A request with a verified token goes on with its profile stored (read it
// with Profile or core.FromContext(c.Context())). A request that passes
// without a token (an optional route, a skipped request, a preflight under
// Policy.PassPreflight) goes on without a profile. A CORS preflight is
// otherwise answered with a bare 204. Any other request is rejected and goes
// no further.
func New(v *core.Verifier, cfg ...Config) fiber.Handler {
	conf := core.AdapterConfig("fiberv3lwa", v, cfg)
	return func(c fiber.Ctx) error {
		if conf.Next != nil && conf.Next(c) {
			return c.Next()
		}
		var buf fastreq.Buffer
		req := fastreq.Read(c.RequestCtx(), v, &buf)
		ctx, p, err := v.Authenticate(c.Context(), &req, conf.Policy)
		if err != nil {
			return reject(c, conf.ErrorHandler, core.AsError(err))
		}
		if p != nil {
			// c.Locals(ProfileKey, p) is this store; calling it through the
			// fiber.Ctx interface would allocate its variadic argument.
			rc := c.RequestCtx()
			rc.SetUserValue(ProfileKey, p)
			// A fiber.Ctx resolves Value through this store: core.FromContext(c)
			// works too.
			rc.SetUserValue(core.ContextKey(), core.ContextValue(ctx))
			c.SetContext(ctx)
		}
		if conf.SuccessHandler != nil {
			return conf.SuccessHandler(c)
		}
		return c.Next()
	}
}

// reject answers a request that may not go on.
func reject(c fiber.Ctx, handler fiber.ErrorHandler, e *core.Error) error {
	if errors.Is(e, core.ErrPreflight) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	if handler == nil {
		return writeError(c, e)
	}
	err := handler(c, newRejection(e, e))
	var ce *core.Error
	var fe *fiber.Error
	switch {
	case err != nil && errors.As(err, &ce) && !errors.As(err, &fe):
		return newRejection(ce, err) // the rejection handed on, maybe wrapped
	case err != nil:
		return err
	}
	res := c.Response()
	if s := res.StatusCode(); s < fiber.StatusMultipleChoices {
		if len(res.Body()) == 0 && !res.IsBodyStream() {
			return writeError(c, e) // nothing written
		}
		c.Status(core.RejectionStatus(e))
	}
	return nil
}

// writeError is the default answer to a rejection: the headers, status and
// JSON body of the error table.
func writeError(c fiber.Ctx, e *core.Error) error {
	e.SetHeaders(c.Set)
	return c.Status(core.RejectionStatus(e)).Send(e.Body())
}

// rejection is the error a custom ErrorHandler receives, and the one the
// middleware returns when that handler hands the rejection on: errors.As
// finds in it the *core.Error and a *fiber.Error with the rejection's
// status, which fiber.DefaultErrorHandler answers with.
type rejection struct {
	err error // the *core.Error, or an error that wraps it
	fe  fiber.Error
	e   *core.Error
}

func newRejection(e *core.Error, err error) *rejection {
	return &rejection{err: err, e: e, fe: fiber.Error{Code: core.RejectionStatus(e), Message: e.Description}}
}

// Error returns the rejection's one-line summary, which never contains the
// token.
func (r *rejection) Error() string { return r.err.Error() }

// Unwrap returns the *core.Error (or the error that wraps it) and the
// *fiber.Error.
func (r *rejection) Unwrap() []error { return []error{r.err, &r.fe} }

// MarshalJSON returns the error table's body, so that c.JSON(err) writes it.
func (r *rejection) MarshalJSON() ([]byte, error) { return r.e.MarshalJSON() }

// Profile returns the verified profile of the request, and whether there is
// one. It returns a copy: changing it changes nothing for other handlers.
func Profile(c fiber.Ctx) (core.Profile, bool) {
	if p, ok := c.Locals(ProfileKey).(*core.Profile); ok && p != nil {
		return *p, true
	}
	return core.Profile{}, false
}

// TokenInfo returns the details of the request's verified token (the client
// ID it was issued to, when it was issued and when it expires), and whether
// there is one. It is core.TokenInfoFromContext(c.Context()).
func TokenInfo(c fiber.Ctx) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(c.Context())
}
