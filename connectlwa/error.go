package connectlwa

import (
	"context"

	"connectrpc.com/connect"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// Error returns the *connect.Error a rejection is answered with (see the
// table in the package documentation): its code, its description as the
// message, a google.rpc.ErrorInfo detail whose reason is the LWA code, and
// a google.rpc.RetryInfo detail when err carries a Retry-After. err is
// taken as core.AsError takes it; nil gives nil. errors.As finds the
// *core.Error in it. A custom ErrorMapper may start from it. (On the
// Connect protocol, the interceptor's own errors also carry the HTTP
// headers; see the package documentation.)
func Error(err error) *connect.Error {
	e := core.AsError(err)
	if e == nil {
		return nil
	}
	ce := connect.NewError(connect.Code(rpckit.CodeOf(e)), &rejection{e})
	if d, derr := connect.NewErrorDetail(rpckit.ErrorInfo(e)); derr == nil {
		ce.AddDetail(d)
	}
	if r := rpckit.RetryInfo(e); r != nil {
		if d, derr := connect.NewErrorDetail(r); derr == nil {
			ce.AddDetail(d)
		}
	}
	return ce
}

// reject returns the error a rejected call ends with. On the Connect
// protocol, where an error is an HTTP response with its own status (401,
// 403, 503, …), the default error also carries the HTTP adapters' headers;
// gRPC and gRPC-Web send metadata as trailers, in which net/http refuses
// Cache-Control and WWW-Authenticate, and their clients read the details.
func (i *interceptor) reject(ctx context.Context, procedure, protocol string, err error) error {
	e := core.AsError(err)
	if i.mapper != nil {
		if mapped := i.mapper(ctx, procedure, e); mapped != nil && rpckit.Code(connect.CodeOf(mapped)).Valid() {
			return mapped
		}
	}
	ce := Error(e)
	if protocol == connect.ProtocolConnect {
		e.SetHeaders(ce.Meta().Set)
		if ce.Code() == connect.CodeUnauthenticated && ce.Meta().Get("WWW-Authenticate") == "" {
			ce.Meta().Set("WWW-Authenticate", "Bearer") // an HTTP 401 carries a challenge
		}
	}
	return ce
}

// rejection is the underlying error of a rejected call's *connect.Error:
// its text, the error's message, is the description; it unwraps to the
// *core.Error.
type rejection struct{ e *core.Error }

func (r *rejection) Error() string { return rpckit.Message(r.e) }
func (r *rejection) Unwrap() error { return r.e }
