package main

// The demo's API over Connect (connectrpc.com/connect), beside its REST
// routes, on the same port: the service lwademo.v1.Demo, protected by
// connectlwa with the same verifier (one cache for REST and RPC).
//
//	POST /lwademo.v1.Demo/Me      token required: the caller's profile
//	POST /lwademo.v1.Demo/Hello   token optional: greets the caller, or a stranger
//
// The procedures take a google.protobuf.Empty and answer a
// google.protobuf.Struct: the well-known types, so that neither the demo
// nor its client (examples/rpcclient) needs generated code. The demo serves
// HTTP/1.1, on which the Connect and gRPC-Web protocols work as they are;
// the gRPC protocol needs HTTP/2 (h2c), which the demo's server does not
// turn on. The Connect protocol is plain HTTP: curl works too.
//
// To wire it, routes calls mountRPC(mux, v) and printOffline calls
// printRPC(out, fake, base) (main.go).

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// The demo's Connect procedures.
const (
	rpcMe    = "/lwademo.v1.Demo/Me"
	rpcHello = "/lwademo.v1.Demo/Hello"
)

// mountRPC registers the demo's Connect procedures on mux, behind
// connectlwa with v: Me requires a token, Hello takes one if there is one
// (a per-procedure policy). A rejection is a Connect error (unauthenticated,
// permission_denied, unavailable, …) with the LWA code as the reason of its
// google.rpc.ErrorInfo detail.
func mountRPC(mux *http.ServeMux, v *core.Verifier) {
	lwa := connect.WithInterceptors(connectlwa.NewInterceptor(v, connectlwa.Config{
		Methods: map[string]core.Policy{rpcHello: {Optional: true}},
	}))
	mux.Handle(rpcMe, connect.NewUnaryHandler(rpcMe, rpcMeHandler, lwa))
	mux.Handle(rpcHello, connect.NewUnaryHandler(rpcHello, rpcHelloHandler, lwa))
}

func rpcMeHandler(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[structpb.Struct], error) {
	p, ok := connectlwa.Profile(ctx)
	if !ok { // cannot happen behind the interceptor; fails closed if it does
		return nil, connectlwa.Error(core.NewError(core.ErrMissingToken, "the request carries no verified access token"))
	}
	return rpcStruct(map[string]any{"user_id": p.UserID, "name": p.Name, "email": p.Email, "postal_code": p.PostalCode})
}

func rpcHelloHandler(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[structpb.Struct], error) {
	name := "stranger"
	if p, ok := connectlwa.Profile(ctx); ok {
		name = p.Name
	}
	return rpcStruct(map[string]any{"hello": name})
}

func rpcStruct(m map[string]any) (*connect.Response[structpb.Struct], error) {
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewResponse(s), nil
}

// rpcClientCommand is the demo's Go client calling procedure with token
// (none when ""), on protocol (Connect's own when "").
func rpcClientCommand(base, procedure, token, protocol string) string {
	cmd := "go run ./examples/rpcclient"
	if protocol != "" {
		cmd += " -protocol " + protocol
	}
	cmd += " -url " + base + procedure
	if token != "" {
		cmd += " -token '" + token + "'"
	}
	return cmd
}

// printRPC issues a token and prints the commands that call the demo's
// Connect procedures, each preceded by a comment with what it answers and
// what the request log says. Run in order, every command answers as its
// comment says (rpc_test.go checks).
func printRPC(out io.Writer, fake *lwatest.Server, base string) {
	tok := fake.Issue(demoClientID, demoCustomer)
	cmds := []struct{ what, cmd string }{
		{`your profile over Connect: the profile as JSON, log "verified upstream"`, rpcClientCommand(base, rpcMe, tok, "")},
		{`the same over gRPC-Web: the profile, log "local cache"`, rpcClientCommand(base, rpcMe, tok, "grpc-web")},
		{`no token: error: unauthenticated (reason invalid_request), log "rejected invalid_request"`, rpcClientCommand(base, rpcMe, "", "")},
		{`a bad token: error: unauthenticated (reason invalid_token), log "rejected invalid_token"`, rpcClientCommand(base, rpcMe, "Atza|not-a-real-token", "")},
		{`optional credentials, no token: a greeting for a stranger, log "anonymous"`, rpcClientCommand(base, rpcHello, "", "")},
		{`optional credentials, a token: a greeting for Ada, log "local cache"`, rpcClientCommand(base, rpcHello, tok, "")},
		{`the Connect protocol is plain HTTP: 401 and a JSON error {"code":"unauthenticated",...}, log "rejected invalid_request"`,
			"curl -i -H 'Content-Type: application/json' -d '{}' " + base + rpcMe},
	}
	fmt.Fprintln(out, "The same API over Connect (lwademo.v1.Demo: Me, Hello; connectlwa), on the same port, with the demo's Go client (no grpcurl needed):")
	for _, c := range cmds {
		fmt.Fprintf(out, "# %s\n%s\n", c.what, c.cmd)
	}
}
