package main

// The demo's API over Connect (connectrpc.com/connect), beside its REST
// routes, on the same port: the service lwademo.v1.Demo, protected by
// connectlwa with the same verifier (one cache for REST and RPC).
//
//	POST or GET /lwademo.v1.Demo/Me      token required: the caller's profile
//	POST or GET /lwademo.v1.Demo/Hello   token optional: greets the caller, or a stranger
//
// The procedures take a google.protobuf.Empty and answer a
// google.protobuf.Struct: the well-known types, so that neither the demo
// nor its client (examples/rpcclient) needs generated code. The demo serves
// HTTP/1.1, on which the Connect and gRPC-Web protocols work as they are;
// the gRPC protocol needs HTTP/2 (h2c), which the demo's server does not
// turn on. The Connect protocol is plain HTTP: curl works too (GET, since
// both procedures are side-effect free).
//
// To wire it, routes calls mountRPC(mux, v), and printOffline calls
// printRPC(out, base, mine) after its curl commands (main.go).

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
	get := connect.WithIdempotency(connect.IdempotencyNoSideEffects) // GET allowed: curl needs no body
	mux.Handle(rpcMe, connect.NewUnaryHandler(rpcMe, rpcMeHandler, lwa, get))
	mux.Handle(rpcHello, connect.NewUnaryHandler(rpcHello, rpcHelloHandler, lwa, get))
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

// rpcGetQuery is the query of a Connect GET request with an empty JSON
// message: side-effect-free procedures answer GET, which curl sends
// without a body.
const rpcGetQuery = "?connect=v1&encoding=json&message=%7B%7D"

// printRPC prints the commands that call the demo's Connect procedures,
// each preceded by a comment, in printOffline's format, with the status the
// Connect protocol answers and what the request log says. token is the
// token of the REST commands printed before, which they verify: run after
// them, in order, every command answers as its comment says (rpc_test.go
// checks; once printOffline prints them, main_test.go runs the curl lines
// with its own).
func printRPC(out io.Writer, base, token string) {
	cmds := []struct{ what, cmd string }{
		{`your profile over Connect, with the demo's Go client: 200 and the profile as JSON, log "local cache"`,
			rpcClientCommand(base, rpcMe, token, "")},
		{`the same over gRPC-Web: 200 and the profile, log "local cache"`, rpcClientCommand(base, rpcMe, token, "grpc-web")},
		{`no token: 401, the client prints "error: unauthenticated (reason invalid_request): …", log "rejected invalid_request"`,
			rpcClientCommand(base, rpcMe, "", "")},
		{`a bad token: 401, the client prints "error: unauthenticated (reason invalid_token): …", log "rejected invalid_token"`,
			rpcClientCommand(base, rpcMe, "Atza|not-a-real-token", "")},
		{`optional credentials, no token: 200 and a greeting for a stranger, log "anonymous"`, rpcClientCommand(base, rpcHello, "", "")},
		{`the Connect protocol is plain HTTP (GET for side-effect-free procedures): 200 and the profile as JSON, log "local cache"`,
			"curl -i -H 'Authorization: Bearer " + token + "' '" + base + rpcMe + rpcGetQuery + "'"},
		{`the same without a token: 401 and a Connect error, {"code":"unauthenticated",…}, log "rejected invalid_request"`,
			"curl -i '" + base + rpcMe + rpcGetQuery + "'"},
	}
	fmt.Fprintln(out, "The same API over Connect (lwademo.v1.Demo: Me, Hello; connectlwa), on the same port, with the demo's Go client (no grpcurl, no generated code); run these after the commands above:")
	for _, c := range cmds {
		fmt.Fprintf(out, "# %s\n%s\n", c.what, c.cmd)
	}
}
