package connectlwa

import (
	"context"
	"net/http"
	"slices"

	"connectrpc.com/connect"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// Header keys of the documented token sources, as net/http keys them.
const (
	headerAuthorization  = "Authorization"
	headerAmzAccessToken = "X-Amz-Access-Token"
	headerCookie         = "Cookie"
)

// interceptor is one compiled Config.
type interceptor struct {
	g      *rpckit.Guard
	mapper func(ctx context.Context, procedure string, err *core.Error) error
}

// WrapUnary checks unary calls on a handler; on a client it does nothing.
func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		if spec.IsClient {
			return next(ctx, req)
		}
		ctx, err := i.check(ctx, spec.Procedure, req.Header(), req.Peer())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient does nothing: the interceptor checks handlers.
func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler checks a streaming call once, when it opens.
func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.check(ctx, conn.Spec().Procedure, conn.RequestHeader(), conn.Peer())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// check decides one call: the context to hand on (the call's own, or one
// carrying the credentials), or the error to end the call with.
func (i *interceptor) check(ctx context.Context, procedure string, h http.Header, peer connect.Peer) (context.Context, error) {
	if i.g.Skip(ctx, procedure) {
		return ctx, nil
	}
	req := core.Request{
		Authorization:  h[headerAuthorization],
		AmzAccessToken: h[headerAmzAccessToken],
		Query:          peer.Query[core.QueryAccessToken], // the Connect protocol's query (GET requests)
	}
	for n, name := range i.g.Headers {
		if n == 0 {
			req.Header = h[name]
		} else if vals := h[name]; len(vals) > 0 {
			req.Header = append(slices.Clip(req.Header), vals...)
		}
	}
	if len(i.g.Cookies) > 0 {
		req.Cookie = rpckit.CookieValues(h[headerCookie], i.g.Cookies)
	}
	out, _, err := i.g.Authenticate(ctx, &req, i.g.PolicyFor(procedure))
	if err != nil {
		return nil, i.reject(ctx, procedure, peer.Protocol, err)
	}
	return out, nil
}
