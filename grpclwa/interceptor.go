package grpclwa

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// Metadata keys of the documented token sources, as gRPC keys metadata
// (lower case).
const (
	mdAuthorization  = "authorization"
	mdAmzAccessToken = "x-amz-access-token"
	mdCookie         = "cookie"
)

// interceptor is one compiled Config; unary and stream share it.
type interceptor struct {
	g      *rpckit.Guard
	mapper func(ctx context.Context, fullMethod string, err *core.Error) error
}

func newInterceptor(fn string, v *core.Verifier, c Config) *interceptor {
	return &interceptor{g: rpckit.NewGuard(fn, v, c.options(), true), mapper: c.ErrorMapper}
}

// check decides one call: the context to hand on (the call's own, or one
// carrying the credentials), or the error to end the call with.
func (i *interceptor) check(ctx context.Context, fullMethod string) (context.Context, error) {
	if i.g.Skip(ctx, fullMethod) {
		return ctx, nil
	}
	req := i.request(ctx)
	out, _, err := i.g.Authenticate(ctx, &req, i.g.PolicyFor(fullMethod))
	if err != nil {
		return nil, i.reject(ctx, fullMethod, err)
	}
	return out, nil
}

// request reads the call's token sources from its incoming metadata.
func (i *interceptor) request(ctx context.Context) core.Request {
	req := core.Request{
		Authorization:  metadata.ValueFromIncomingContext(ctx, mdAuthorization),
		AmzAccessToken: metadata.ValueFromIncomingContext(ctx, mdAmzAccessToken),
	}
	for _, h := range i.g.Headers {
		req.Header = append(req.Header, metadata.ValueFromIncomingContext(ctx, h)...)
	}
	if len(i.g.Cookies) > 0 {
		req.Cookie = rpckit.CookieValues(metadata.ValueFromIncomingContext(ctx, mdCookie), i.g.Cookies)
	}
	return req
}

func (i *interceptor) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := i.check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (i *interceptor) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	parent := ss.Context()
	ctx, err := i.check(parent, info.FullMethod)
	if err != nil {
		return err
	}
	if ctx != parent {
		ss = &serverStream{ServerStream: ss, ctx: ctx}
	}
	return handler(srv, ss)
}

// serverStream is a stream whose Context carries the credentials.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context, with the call's credentials.
func (s *serverStream) Context() context.Context { return s.ctx }
