// Package connectlwa protects Connect services (connectrpc.com/connect)
// with Login with Amazon (LWA) access tokens.
//
// Its interceptor checks unary and streaming handlers. It reads the call's
// token from its request headers (Authorization: Bearer <token>,
// x-amz-access-token, the custom headers of core.WithTokenHeader and the
// cookies of core.WithTokenCookie) and, for the Connect protocol's GET
// requests, the access_token query parameter; verifies it with a
// core.Verifier (its cache, coalescing, audience check and resilience);
// and hands the customer's profile to the handler in its context:
// core.FromContext(ctx) or Profile(ctx). The extraction rules are the
// verifier's: two different tokens are rejected, the same token in several
// places is fine, sources switched off by the verifier's options are
// ignored.
//
//	path, handler := greetv1connect.NewGreetServiceHandler(svc,
//		connect.WithInterceptors(connectlwa.Require())) // client ID from LWA_CLIENT_ID
//
// Every rejection is a *connect.Error whose code is chosen as grpclwa
// chooses its gRPC code, so that clients on the gRPC, gRPC-Web and Connect
// protocols all read it; it carries a google.rpc.ErrorInfo detail (reason:
// the LWA code of the HTTP adapters' body; domain: ErrorDomain; Amazon's
// x-amzn-RequestId under "request_id" in its metadata) and a
// google.rpc.RetryInfo detail when the client may retry later. On the
// Connect protocol, where the error is an HTTP response with its own
// status, it also carries the HTTP adapters' headers (Cache-Control:
// no-store, WWW-Authenticate, Retry-After). The message is the rejection's
// description; it never carries the token.
//
//	situation                                          HTTP (Amazon's / RFC 6750)  Connect code                       HTTP status (Connect protocol)  reason
//	no token                                           400 / 401                   unauthenticated                    401                             invalid_request
//	two different tokens; a malformed or long token    400 / 400                   invalid_argument                   400                             invalid_request
//	expired, revoked, malformed or unknown token       400 / 401                   unauthenticated                    401                             invalid_token
//	the profile lacks a required scope or field        401 / 403                   permission_denied                  403                             insufficient_scope
//	the token was issued to another app                404 / 401                   unauthenticated                    401                             not_found (RFC 6750: invalid_token)
//	Amazon unreachable, 5xx, not its documented JSON   502                         unavailable                        503                             server_error
//	Amazon did not answer in time                      504                         deadline_exceeded                  504                             server_error
//	circuit breaker open; too many waiting             503 + Retry-After           unavailable + RetryInfo            503 + Retry-After               server_error
//	the caller's own context ended                     (none)                      canceled or deadline_exceeded      (none)                          server_error
//
// The package grpclwa documents why these codes. On the Connect protocol an
// unauthenticated error always carries a WWW-Authenticate challenge (a
// bare "Bearer" when the HTTP table's status has none), as an HTTP 401
// must.
//
// CORS preflights never reach the interceptor: a Connect handler answers
// any method but POST (and GET, for side-effect-free procedures) with 405
// before interceptors run. A browser client's preflights are answered by a
// CORS middleware around the handlers (connectrpc.com/cors lists the
// headers to allow; allow Authorization, or x-amz-access-token).
//
// The standard health service (grpc.health.v1.Health, as
// connectrpc.com/grpchealth serves it) is let through untouched by default;
// Config.CheckHealth protects it too.
package connectlwa

import (
	"context"

	"connectrpc.com/connect"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/kit"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// HealthService is the standard gRPC health service, grpc.health.v1.Health,
// whose procedures pass untouched unless Config.CheckHealth is set.
const HealthService = "grpc.health.v1.Health"

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of every
// rejection.
const ErrorDomain = "github.com/go-lwa/lwa"

// Config tunes the interceptor. Its zero value requires a valid token on
// every call except those of the health service.
type Config struct {
	// Policy makes credentials optional, or requires profile fields or
	// client IDs, on every procedure that Methods does not name (see
	// core.Policy; its CORS preflight fields are ignored: preflights never
	// reach interceptors). On an optional procedure, only a call without
	// any token passes without a profile; a bad token is still rejected.
	// Optional, NeedFields and OnlyClients set it in one line.
	core.Policy

	// Methods gives procedures their own policy, which replaces Policy for
	// them: keys are procedure names ("/package.Service/Method", as
	// connect.Spec.Procedure spells them) or whole services
	// ("/package.Service/"); a procedure's own entry wins over its
	// service's. A key of another shape, or an invalid policy, makes
	// NewInterceptor panic.
	Methods map[string]core.Policy

	// Skip, when it returns true for a call's procedure, lets the call
	// through untouched: its token, if any, is neither read nor verified,
	// and its context carries no profile.
	Skip func(ctx context.Context, procedure string) bool

	// CheckHealth subjects the standard health service (HealthService) to
	// the check like any other; by default its calls pass untouched.
	CheckHealth bool

	// ErrorMapper, when set, chooses the error a rejected call ends with,
	// in place of Error(err): a *connect.Error, or any error (Connect
	// answers those unknown). It cannot let the call through: the handler
	// is never called for a rejection, and a nil error or one whose code
	// is not a Connect code (1–16) is replaced by Error(err).
	ErrorMapper func(ctx context.Context, procedure string, err *core.Error) error
}

// options returns c's part that rpckit compiles.
func (c Config) options() rpckit.Options {
	return rpckit.Options{Policy: c.Policy, Methods: c.Methods, Skip: c.Skip, CheckHealth: c.CheckHealth}
}

// Require returns an interceptor that verifies calls with a new
// core.Verifier configured by opts (see core.NewVerifier; the client ID
// defaults to LWA_CLIENT_ID). Like regexp.MustCompile, it panics when the
// configuration is invalid, so that a misconfigured server fails at
// startup rather than on its first call.
func Require(opts ...core.Option) connect.Interceptor {
	return NewInterceptor(kit.MustVerifier("connectlwa", opts...))
}

// RequireWith is Require with a Config.
func RequireWith(cfg Config, opts ...core.Option) connect.Interceptor {
	return NewInterceptor(kit.MustVerifier("connectlwa", opts...), cfg)
}

// Optional is NewInterceptor(v) for handlers on which credentials are
// optional: a call without a token passes without a profile; a bad token
// is still rejected.
func Optional(v *core.Verifier) connect.Interceptor {
	return NewInterceptor(v, Config{Policy: core.Policy{Optional: true}})
}

// NeedFields is NewInterceptor(v) for handlers that need these profile
// fields (core.FieldEmail, core.FieldName, core.FieldPostalCode): a token
// whose customer did not share one is rejected (permission_denied,
// insufficient_scope).
func NeedFields(v *core.Verifier, fields ...string) connect.Interceptor {
	return NewInterceptor(v, Config{Policy: core.Policy{RequiredFields: fields}})
}

// OnlyClients is NewInterceptor(v) for handlers that accept only tokens
// issued to these client IDs (procedures for devices only, say).
func OnlyClients(v *core.Verifier, clientIDs ...string) connect.Interceptor {
	return NewInterceptor(v, Config{Policy: core.Policy{ClientIDs: clientIDs}})
}

// NewInterceptor returns an interceptor that verifies calls with v, which
// may be shared by any number of handlers, interceptors and HTTP
// middlewares (one cache). Give it to handlers with
// connect.WithInterceptors; on a client it does nothing. At most one Config
// may be given. It panics if v is nil, a policy is invalid (an unknown
// required field, say) or a key of Config.Methods is not a procedure or
// service name.
//
// A call with a verified token reaches the handler with its credentials in
// its context (read them with Profile, Token and TokenInfo, or
// core.FromContext); a call that passes without a token (an optional
// procedure, a skipped call) reaches it without. Any other call ends with
// the rejection's error (see the package documentation) and never reaches
// the handler. A streaming call is checked once, when it opens.
func NewInterceptor(v *core.Verifier, cfg ...Config) connect.Interceptor {
	c := rpckit.Config("connectlwa.NewInterceptor", v, cfg)
	return &interceptor{g: rpckit.NewGuard("connectlwa.NewInterceptor", v, c.options(), false), mapper: c.ErrorMapper}
}

// Profile returns the verified profile of the call whose context is ctx,
// and whether there is one. It is core.FromContext(ctx).
func Profile(ctx context.Context) (core.Profile, bool) {
	return core.FromContext(ctx)
}

// Token returns the call's access token exactly as the interceptor
// extracted it (from whichever source carried it), and whether the call
// has a verified one: what to pass to core.Verifier.Revoke on sign-out.
// Never log it.
func Token(ctx context.Context) (string, bool) {
	return core.TokenFromContext(ctx)
}

// TokenInfo returns the details of the call's verified token (the client
// ID and app it was issued to, when it was issued and when it expires),
// and whether there is one.
func TokenInfo(ctx context.Context) (core.TokenInfo, bool) {
	return core.TokenInfoFromContext(ctx)
}
