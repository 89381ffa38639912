package grpclwa_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/lwatest"
)

// hello is the handler of greet.v1.Greeter/Hello.
func hello(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	p, ok := grpclwa.Profile(ctx) // or core.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no profile")
	}
	return wrapperspb.String("hello " + p.Name), nil
}

// greeter describes the greet.v1.Greeter service, as the code protoc-gen-go-grpc
// generates from a .proto file would.
var greeter = grpc.ServiceDesc{
	ServiceName: "greet.v1.Greeter",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Hello",
		Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			info := &grpc.UnaryServerInfo{FullMethod: "/greet.v1.Greeter/Hello"}
			return ic(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return hello(ctx, req.(*wrapperspb.StringValue))
			})
		},
	}},
}

// Protect a gRPC server, and read a rejection on the client. In production
// the verifier takes its client ID from LWA_CLIENT_ID and asks Amazon
// (grpc.NewServer(grpclwa.Require()...) in one line); here a fake LWA
// server stands in for Amazon.
func Example() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, err := core.NewVerifier(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	s := grpc.NewServer(grpclwa.ServerOptions(v)...)
	s.RegisterService(&greeter, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go s.Serve(ln)
	defer s.Stop()

	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	token := srv.Token(core.Profile{Name: "Alice"})
	out := new(wrapperspb.StringValue)

	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	if err := cc.Invoke(ctx, "/greet.v1.Greeter/Hello", wrapperspb.String(""), out); err == nil {
		fmt.Println(out.GetValue())
	}

	err = cc.Invoke(context.Background(), "/greet.v1.Greeter/Hello", wrapperspb.String(""), out)
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			fmt.Println(st.Code(), info.GetReason(), st.Message())
		}
	}
	// Output:
	// hello Alice
	// Unauthenticated invalid_request the request carries no access token
}

// Per-method requirements, and calls let through untouched.
func ExampleConfig() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, err := core.NewVerifier(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	intercept := grpclwa.UnaryServerInterceptor(v, grpclwa.Config{
		Methods: map[string]core.Policy{
			"/shop.v1.Catalog/":    {Optional: true},                                 // the whole service
			"/shop.v1.Orders/Ship": {RequiredFields: []string{core.FieldPostalCode}}, // one method
		},
		Skip: func(_ context.Context, fullMethod string) bool {
			return strings.HasPrefix(fullMethod, "/grpc.reflection.")
		},
	})

	// call runs intercept as gRPC-Go would for a call of method carrying
	// token (none when "").
	call := func(method, token string) {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
		}
		info := &grpc.UnaryServerInfo{FullMethod: method}
		_, err := intercept(ctx, nil, info, func(ctx context.Context, _ any) (any, error) {
			p, ok := grpclwa.Profile(ctx)
			fmt.Printf("%s: handler ran, profile %v %q\n", method, ok, p.Name)
			return nil, nil
		})
		if err != nil {
			fmt.Printf("%s: %v\n", method, status.Code(err))
		}
	}
	alice := srv.Token(core.Profile{Name: "Alice", PostalCode: "98109"})
	bob := srv.Issue(lwatest.ClientID, core.Profile{Name: "Bob"}, lwatest.WithScopes("profile"))

	call("/shop.v1.Catalog/List", "")
	call("/shop.v1.Orders/List", "")
	call("/shop.v1.Orders/List", bob)
	call("/shop.v1.Orders/Ship", bob)
	call("/shop.v1.Orders/Ship", alice)
	call("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "")
	call("/grpc.health.v1.Health/Check", "")
	// Output:
	// /shop.v1.Catalog/List: handler ran, profile false ""
	// /shop.v1.Orders/List: Unauthenticated
	// /shop.v1.Orders/List: handler ran, profile true "Bob"
	// /shop.v1.Orders/Ship: PermissionDenied
	// /shop.v1.Orders/Ship: handler ran, profile true "Alice"
	// /grpc.reflection.v1.ServerReflection/ServerReflectionInfo: handler ran, profile false ""
	// /grpc.health.v1.Health/Check: handler ran, profile false ""
}

// The status of a rejection: the code, the description, and the ErrorInfo
// detail whose reason is the LWA code. An ErrorMapper may start from it;
// so may an app that answers a condition of its own.
func ExampleStatus() {
	st := grpclwa.Status(core.NewError(core.ErrInsufficientScope, "this method needs your postal code"))
	fmt.Println(st.Code(), "-", st.Message())
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			fmt.Println(info.GetReason(), info.GetDomain())
		}
	}
	// Output:
	// PermissionDenied - this method needs your postal code
	// insufficient_scope github.com/go-lwa/lwa
}
