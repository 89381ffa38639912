// Package fiberv3lwa protects Fiber v3 routes with Login with Amazon (LWA)
// access tokens. For Fiber v2, use package fiberlwa. Import it next to
// Fiber v3 as is; both packages are named for their Fiber major:
//
//	import (
//		"github.com/gofiber/fiber/v3"
//
//		"github.com/go-lwa/lwa/fiberv3lwa"
//	)
//
// Its middleware reads the request's token (Authorization: Bearer,
// x-amz-access-token or the access_token query parameter, plus the custom
// headers and cookies of core.WithTokenHeader and core.WithTokenCookie),
// verifies it with a core.Verifier, and stores the request's credentials
// both in c.Locals (under core.ContextKey, so that core.FromContext(c)
// works on the fiber.Ctx itself) and in c.Context(), so that code which
// only takes a context.Context can call core.FromContext. A rejected
// request is answered with the JSON body and status of the error table in
// package core.
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
// one cache) between routes, groups and frameworks; Optional, NeedFields
// and OnlyClients are New for the three common per-route requirements.
//
// fasthttp reuses its request buffers once a handler returns: the verifier
// copies whatever it keeps (the token Token returns included), and nothing
// stored points into them.
package fiberv3lwa

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v3"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/fastreq"
	"github.com/go-lwa/lwa/internal/kit"
)

// Config tunes the middleware built by New. Its zero value requires a
// valid token on every request except CORS preflights.
type Config struct {
	// Policy makes credentials optional on the route, requires profile
	// fields or client IDs, or changes how CORS preflights are handled (see
	// core.Policy). Optional, NeedFields and OnlyClients set it in one line.
	core.Policy

	// Next, when it returns true, skips the middleware: the request goes on
	// untouched, its token, if any, neither read nor verified, and it carries
	// no profile.
	Next func(c fiber.Ctx) bool

	// ErrorHandler, when set, answers rejected requests instead of the
	// default JSON error. Its error is always a *core.Error (as in
	// fiberlwa); Cache-Control: no-store, WWW-Authenticate and
	// Retry-After are already set (it may override them). If it returns nil
	// without writing a body, the default JSON error is written; a 1xx or
	// 2xx status it sets is replaced by the rejection's. If it returns an
	// error, that goes on to the app's fiber.Config.ErrorHandler; an error
	// that is or wraps the *core.Error is handed on so that errors.As finds
	// it both as a *core.Error and as a *fiber.Error carrying the table's
	// status, which fiber.DefaultErrorHandler answers with. Fiber cannot
	// stop this handler from calling c.Next(): doing so runs the protected
	// handlers without a profile, so never call it here.
	ErrorHandler fiber.ErrorHandler

	// SuccessHandler, when set, runs instead of c.Next() for requests that
	// may go on (verified, optional without a token, or a preflight under
	// Policy.PassPreflight); it should call c.Next().
	SuccessHandler fiber.Handler
}

// Require returns middleware that verifies requests with a new core.Verifier
// configured by opts (see core.NewVerifier; the client ID defaults to
// LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the configuration
// is invalid, so that a misconfigured server fails at startup rather than on
// its first request.
func Require(opts ...core.Option) fiber.Handler {
	return New(kit.MustVerifier("fiberv3lwa", opts...))
}

// RequireWith is Require with a Config: the one-line setup of Require for a
// route that needs optional credentials, a Next function, a custom error
// handler or its own requirements.
func RequireWith(cfg Config, opts ...core.Option) fiber.Handler {
	return New(kit.MustVerifier("fiberv3lwa", opts...), cfg)
}

// Optional is New(v) for a route on which credentials are optional: a
// request without a token passes without a profile; a bad token is still
// rejected.
func Optional(v *core.Verifier) fiber.Handler {
	return New(v, Config{Policy: core.Policy{Optional: true}})
}

// NeedFields is New(v) for a route that needs these profile fields
// (core.FieldEmail, core.FieldName, core.FieldPostalCode): a token whose
// customer did not share one is rejected with insufficient_scope.
func NeedFields(v *core.Verifier, fields ...string) fiber.Handler {
	return New(v, Config{Policy: core.Policy{RequiredFields: fields}})
}

// OnlyClients is New(v) for a route that accepts only tokens issued to
// these client IDs (a route for devices only, say).
func OnlyClients(v *core.Verifier, clientIDs ...string) fiber.Handler {
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
// a profile. A CORS preflight is answered 204 by the middleware (see
// core.Policy). Any other request is rejected and never reaches the next
// handler.
func New(v *core.Verifier, cfg ...Config) fiber.Handler {
	conf := kit.Config("fiberv3lwa", v, cfg, func(c Config) core.Policy { return c.Policy })
	reader := fastreq.NewReader(v)
	return func(c fiber.Ctx) error {
		if conf.Next != nil && conf.Next(c) {
			return c.Next()
		}
		var buf fastreq.Buffer
		req := reader.Read(c.RequestCtx(), &buf)
		ctx, verified, err := v.Authenticate(c.Context(), &req, conf.Policy)
		if err != nil {
			return reject(c, conf.ErrorHandler, core.AsError(err))
		}
		if verified {
			// c.Locals' store; c.Locals itself would allocate its variadic argument.
			c.RequestCtx().SetUserValue(core.ContextKey, ctx)
			c.SetContext(ctx)
		}
		if conf.SuccessHandler != nil {
			return conf.SuccessHandler(c)
		}
		return c.Next()
	}
}

// reject answers e: the preflight itself, else through the app's handler,
// guarded.
func reject(c fiber.Ctx, h fiber.ErrorHandler, e *core.Error) error {
	if errors.Is(e, core.ErrPreflight) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	if h == nil {
		return writeError(c, e)
	}
	e.SetHeaders(c.Set)
	err := h(c, e)
	// A hijacked connection could answer anything, a success included.
	rc := c.RequestCtx()
	rc.Hijack(nil)
	rc.HijackSetNoResponse(false)
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			return &rejection{err: err, e: ce}
		}
		return err
	}
	if res := c.Response(); res.StatusCode() < fiber.StatusMultipleChoices {
		if len(res.Body()) == 0 && !res.IsBodyStream() {
			return writeError(c, e) // nothing written
		}
		res.SetStatusCode(e.StatusCode())
	}
	return nil
}

// rejection is a rejection handed on to the app's fiber.Config.ErrorHandler:
// errors.As finds the *core.Error (and whatever error wraps it) and a
// *fiber.Error carrying its status.
type rejection struct {
	err error // the *core.Error, or an error that wraps it
	e   *core.Error
}

func (r *rejection) Error() string { return r.err.Error() }

func (r *rejection) Unwrap() []error {
	return []error{r.err, &fiber.Error{Code: r.e.StatusCode(), Message: r.e.Description}}
}

func (r *rejection) MarshalJSON() ([]byte, error) { return r.e.MarshalJSON() }

func writeError(c fiber.Ctx, e *core.Error) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	e.SetHeaders(c.Set)
	return c.Status(e.StatusCode()).Send(e.Body())
}

// credentials returns the context the middleware stored in c.
func credentials(c fiber.Ctx) context.Context {
	ctx, _ := c.Locals(core.ContextKey).(context.Context)
	return ctx
}

// Profile returns the verified profile of the request, and whether there is
// one (core.FromContext(c) says the same): a copy, changing it changes nothing for other handlers.
func Profile(c fiber.Ctx) (core.Profile, bool) {
	return core.FromContext(credentials(c))
}

// Token returns the request's access token exactly as the middleware
// extracted it (from whichever source carried it; a copy that outlives the
// handler safely), and whether the request has a verified one: what to pass
// to core.Verifier.Revoke on sign-out. Never log it.
func Token(c fiber.Ctx) (string, bool) {
	return core.TokenFromContext(credentials(c))
}

// TokenInfo returns the details of the request's verified token (the client
// ID and app it was issued to, when it was issued and when it expires), and
// whether there is one.
func TokenInfo(c fiber.Ctx) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(credentials(c))
}
