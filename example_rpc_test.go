package lwa_test

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/lwatest"
)

// Protect a gRPC service: grpc.NewServer(grpclwa.Require()...) in
// production. Here the interceptor is called as gRPC would call it, with
// the call's metadata, against a fake LWA server.
func Example_grpc() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, _ := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	defer v.Close()
	intercept := grpclwa.UnaryServerInterceptor(v)
	hello := func(ctx context.Context, _ any) (any, error) {
		p, _ := grpclwa.Profile(ctx)
		return "hello " + p.Name, nil
	}
	info := &grpc.UnaryServerInfo{FullMethod: "/greet.v1.Greeter/Hello"}

	tok := srv.Issue(clientID, alice)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	out, err := intercept(ctx, nil, info, hello)
	fmt.Println(out, err)

	_, err = intercept(context.Background(), nil, info, hello)
	fmt.Println(status.Code(err), grpclwa.Status(err).Message())
	// Output:
	// hello Alice <nil>
	// Unauthenticated the request carries no access token
}

// Protect a Connect handler: connect.WithInterceptors(connectlwa.Require())
// in production. Here the interceptor wraps a handler called directly.
func Example_connect() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, _ := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	defer v.Close()
	hello := connectlwa.NewInterceptor(v).WrapUnary(func(ctx context.Context, _ connect.AnyRequest) (connect.AnyResponse, error) {
		p, _ := connectlwa.Profile(ctx)
		return connect.NewResponse(wrapperspb.String("hello " + p.Name)), nil
	})

	req := connect.NewRequest(wrapperspb.String(""))
	req.Header().Set("Authorization", "Bearer "+srv.Issue(clientID, alice))
	res, err := hello(context.Background(), req)
	fmt.Println(res.Any().(*wrapperspb.StringValue).GetValue(), err)

	_, err = hello(context.Background(), connect.NewRequest(wrapperspb.String("")))
	fmt.Println(connect.CodeOf(err))
	// Output:
	// hello Alice <nil>
	// unauthenticated
}
