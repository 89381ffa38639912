package connectlwa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// hello is the handler of greet.v1.Greeter/Hello.
func hello(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
	p, ok := connectlwa.Profile(ctx) // or core.FromContext(ctx)
	if !ok {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("no profile"))
	}
	return connect.NewResponse(wrapperspb.String("hello " + p.Name)), nil
}

// Protect a Connect handler, and read a rejection on the client. In
// production the verifier takes its client ID from LWA_CLIENT_ID and asks
// Amazon (connect.WithInterceptors(connectlwa.Require()) in one line); here
// a fake LWA server stands in for Amazon.
func Example() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, err := core.NewVerifier(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("/greet.v1.Greeter/Hello", connect.NewUnaryHandler("/greet.v1.Greeter/Hello", hello,
		connect.WithInterceptors(connectlwa.NewInterceptor(v))))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](ts.Client(), ts.URL+"/greet.v1.Greeter/Hello")
	req := connect.NewRequest(wrapperspb.String(""))
	req.Header().Set("Authorization", "Bearer "+srv.Token(core.Profile{Name: "Alice"}))
	if res, err := client.CallUnary(context.Background(), req); err == nil {
		fmt.Println(res.Msg.GetValue())
	}

	_, err = client.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("")))
	var ce *connect.Error
	if errors.As(err, &ce) {
		for _, d := range ce.Details() {
			if v, derr := d.Value(); derr == nil {
				if info, ok := v.(*errdetails.ErrorInfo); ok {
					fmt.Println(ce.Code(), info.GetReason(), ce.Message())
				}
			}
		}
	}
	// Output:
	// hello Alice
	// unauthenticated invalid_request the request carries no access token
}

// greet greets the caller, or a stranger on an optional procedure.
func greet(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
	name := "stranger"
	if p, ok := connectlwa.Profile(ctx); ok {
		name = p.Name
	}
	return connect.NewResponse(wrapperspb.String("hello " + name)), nil
}

// Each handler takes its own interceptor: optional credentials on one, a
// profile field on another, all sharing one verifier (one cache).
func ExampleNeedFields() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, err := core.NewVerifier(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("/shop.v1.Catalog/List", connect.NewUnaryHandler("/shop.v1.Catalog/List", greet,
		connect.WithInterceptors(connectlwa.Optional(v))))
	mux.Handle("/shop.v1.Orders/Ship", connect.NewUnaryHandler("/shop.v1.Orders/Ship", greet,
		connect.WithInterceptors(connectlwa.NeedFields(v, core.FieldPostalCode))))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	call := func(procedure, token string) {
		client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](ts.Client(), ts.URL+procedure)
		req := connect.NewRequest(wrapperspb.String(""))
		if token != "" {
			req.Header().Set("Authorization", "Bearer "+token)
		}
		res, err := client.CallUnary(context.Background(), req)
		if err != nil {
			fmt.Printf("%s: %v\n", procedure, connect.CodeOf(err))
			return
		}
		fmt.Printf("%s: %s\n", procedure, res.Msg.GetValue())
	}
	alice := srv.Token(core.Profile{Name: "Alice", PostalCode: "98109"})
	bob := srv.Issue(lwatest.ClientID, core.Profile{Name: "Bob"}, lwatest.WithScopes("profile"))

	call("/shop.v1.Catalog/List", "")
	call("/shop.v1.Catalog/List", bob)
	call("/shop.v1.Orders/Ship", bob)
	call("/shop.v1.Orders/Ship", alice)
	// Output:
	// /shop.v1.Catalog/List: hello stranger
	// /shop.v1.Catalog/List: hello Bob
	// /shop.v1.Orders/Ship: permission_denied
	// /shop.v1.Orders/Ship: hello Alice
}

// The error of a rejection: the code, the description, and the ErrorInfo
// detail whose reason is the LWA code.
func ExampleError() {
	ce := connectlwa.Error(core.NewError(core.ErrInsufficientScope, "this procedure needs your postal code"))
	fmt.Println(ce.Code(), "-", ce.Message())
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if info, ok := v.(*errdetails.ErrorInfo); ok {
				fmt.Println(info.GetReason(), info.GetDomain())
			}
		}
	}
	// Output:
	// permission_denied - this procedure needs your postal code
	// insufficient_scope github.com/go-lwa/lwa
}
