// Package grpclwa protects gRPC-Go servers (google.golang.org/grpc) with
// Login with Amazon (LWA) access tokens.
//
// gRPC-Go does not run through net/http middleware: its unary and stream
// server interceptors are where a call is checked. The interceptors of this
// package read the call's token from its metadata (authorization:
// Bearer <token>, x-amz-access-token, and the custom headers of
// core.WithTokenHeader, lower-cased; cookie when core.WithTokenCookie is
// set), verify it with a core.Verifier (its cache, coalescing, audience
// check and resilience), and hand the customer's profile to the handler in
// its context: core.FromContext(ctx) or Profile(ctx), and on a stream
// ServerStream.Context(). The extraction rules are the verifier's: two
// different tokens are rejected, the same token in several places is fine,
// sources switched off by the verifier's options are ignored.
//
//	s := grpc.NewServer(grpclwa.Require()...) // client ID from LWA_CLIENT_ID
//
// Every rejection is a gRPC status with a google.rpc.ErrorInfo detail (its
// reason is the LWA code of the HTTP adapters' body, its domain
// ErrorDomain, Amazon's x-amzn-RequestId in its metadata under
// "request_id"), and a google.rpc.RetryInfo detail when the client may
// retry later. The status message is the rejection's description; it never
// carries the token.
//
//	situation                                          HTTP (Amazon's / RFC 6750)  gRPC code                     reason
//	no token                                           400 / 401                   Unauthenticated               invalid_request
//	two different tokens; a malformed or long token    400 / 400                   InvalidArgument               invalid_request
//	expired, revoked, malformed or unknown token       400 / 401                   Unauthenticated               invalid_token
//	the profile lacks a required scope or field        401 / 403                   PermissionDenied              insufficient_scope
//	the token was issued to another app                404 / 401                   Unauthenticated               not_found (RFC 6750: invalid_token)
//	Amazon unreachable, 5xx, not its documented JSON   502                         Unavailable                   server_error
//	Amazon did not answer in time                      504                         DeadlineExceeded              server_error
//	circuit breaker open; too many waiting             503 + Retry-After           Unavailable + RetryInfo       server_error
//	the caller's own context ended                     (none)                      Canceled or DeadlineExceeded  server_error
//
// The codes follow RFC 6750's meaning whatever the verifier's HTTP table:
// a request without credentials, or with credentials that are not (or no
// longer) valid, is Unauthenticated, which gRPC clients answer by getting
// a fresh token; a request that is malformed whatever its token's state (two
// different tokens, a token that cannot be an LWA token) is
// InvalidArgument, which tells the client that retrying the same request
// cannot work. core.WithRFC6750Statuses changes only the HTTP statuses,
// and so nothing here but the reason of another app's token.
//
// The standard health service (grpc.health.v1.Health) is let through
// untouched by default, since load balancers and Kubernetes probes call it
// without credentials; Config.CheckHealth protects it too.
package grpclwa

import (
	"context"

	"google.golang.org/grpc"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/kit"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// HealthService is the standard gRPC health service, grpc.health.v1.Health,
// whose calls (Check, Watch, List) pass untouched unless Config.CheckHealth
// is set.
const HealthService = "grpc.health.v1.Health"

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of every
// rejection.
const ErrorDomain = "github.com/go-lwa/lwa"

// Config tunes the interceptors. Its zero value requires a valid token on
// every call except those of the health service.
type Config struct {
	// Policy makes credentials optional, or requires profile fields or
	// client IDs, on every method that Methods does not name (see
	// core.Policy; its CORS preflight fields mean nothing to gRPC and are
	// ignored). On an optional method, only a call without any token
	// passes without a profile; a bad token is still rejected.
	core.Policy

	// Methods gives methods their own policy, which replaces Policy for
	// them: keys are full method names ("/package.Service/Method", as
	// grpc.UnaryServerInfo.FullMethod spells them) or whole services
	// ("/package.Service/"); a method's own entry wins over its service's.
	// A key of another shape, or an invalid policy, makes the constructor
	// panic.
	Methods map[string]core.Policy

	// Skip, when it returns true for a call's full method name, lets the
	// call through untouched: its token, if any, is neither read nor
	// verified, and its context carries no profile. ctx is the call's
	// context (its metadata.FromIncomingContext included).
	Skip func(ctx context.Context, fullMethod string) bool

	// CheckHealth subjects the standard health service (HealthService) to
	// the check like any other; by default its calls pass untouched.
	CheckHealth bool

	// ErrorMapper, when set, chooses the error a rejected call ends with,
	// in place of Status(err).Err(): a status error (status.Error,
	// status.New(…).WithDetails) or any error (gRPC answers those
	// Unknown). It cannot let the call through: the handler is never
	// called for a rejection, and a nil error or one whose status is OK is
	// replaced by Status(err).
	ErrorMapper func(ctx context.Context, fullMethod string, err *core.Error) error
}

// options returns c's part that rpckit compiles.
func (c Config) options() rpckit.Options {
	return rpckit.Options{Policy: c.Policy, Methods: c.Methods, Skip: c.Skip, CheckHealth: c.CheckHealth}
}

// Require returns the server options that install both interceptors, with a
// new core.Verifier configured by opts (see core.NewVerifier; the client ID
// defaults to LWA_CLIENT_ID):
//
//	s := grpc.NewServer(grpclwa.Require()...)
//
// Like regexp.MustCompile, it panics when the configuration is invalid, so
// that a misconfigured server fails at startup rather than on its first
// call. The interceptors are appended to the server's chains
// (grpc.ChainUnaryInterceptor, grpc.ChainStreamInterceptor): options given
// before them wrap them (logging, tracing, recovery).
func Require(opts ...core.Option) []grpc.ServerOption {
	return ServerOptions(kit.MustVerifier("grpclwa", opts...))
}

// RequireWith is Require with a Config.
func RequireWith(cfg Config, opts ...core.Option) []grpc.ServerOption {
	return ServerOptions(kit.MustVerifier("grpclwa", opts...), cfg)
}

// ServerOptions returns the server options that install both interceptors,
// built with v and cfg:
//
//	s := grpc.NewServer(grpclwa.ServerOptions(v, grpclwa.Config{Methods: …})...)
//
// It panics as UnaryServerInterceptor does.
func ServerOptions(v *core.Verifier, cfg ...Config) []grpc.ServerOption {
	c := rpckit.Config("grpclwa.ServerOptions", v, cfg)
	i := newInterceptor("grpclwa.ServerOptions", v, c)
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(i.unary), grpc.ChainStreamInterceptor(i.stream)}
}

// UnaryServerInterceptor returns the interceptor that checks unary calls
// with v, which may be shared by any number of servers, interceptors and
// HTTP middlewares (one cache). At most one Config may be given. It panics
// if v is nil, a policy is invalid (an unknown required field, say) or a
// key of Config.Methods is not a method or service name.
//
// A call with a verified token reaches the handler with its credentials in
// its context (read them with Profile, Token and TokenInfo, or
// core.FromContext); a call that passes without a token (an optional
// method, a skipped call) reaches it without. Any other call ends with the
// rejection's status (see the package documentation) and never reaches the
// handler.
func UnaryServerInterceptor(v *core.Verifier, cfg ...Config) grpc.UnaryServerInterceptor {
	c := rpckit.Config("grpclwa.UnaryServerInterceptor", v, cfg)
	return newInterceptor("grpclwa.UnaryServerInterceptor", v, c).unary
}

// StreamServerInterceptor returns the interceptor that checks streaming
// calls with v, once, when the stream opens; the handler reads the
// credentials from ServerStream.Context(). Its arguments and panics are
// UnaryServerInterceptor's.
func StreamServerInterceptor(v *core.Verifier, cfg ...Config) grpc.StreamServerInterceptor {
	c := rpckit.Config("grpclwa.StreamServerInterceptor", v, cfg)
	return newInterceptor("grpclwa.StreamServerInterceptor", v, c).stream
}

// Profile returns the verified profile of the call whose context is ctx,
// and whether there is one. It is core.FromContext(ctx).
func Profile(ctx context.Context) (core.Profile, bool) {
	return core.FromContext(ctx)
}

// Token returns the call's access token exactly as the interceptor
// extracted it (from whichever metadata carried it), and whether the call
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
