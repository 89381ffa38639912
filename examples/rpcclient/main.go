// Command rpcclient calls a Connect procedure protected by connectlwa, such
// as the demo's (cmd/lwademo), with a Login with Amazon access token, and
// prints the answer, or the rejection: its code, its LWA reason (from the
// google.rpc.ErrorInfo detail), its message, and when to retry (from the
// google.rpc.RetryInfo detail). It never prints the token.
//
//	go run ./examples/rpcclient -url http://127.0.0.1:8080/lwademo.v1.Demo/Me -token 'Atza|…'
//	go run ./examples/rpcclient -url http://127.0.0.1:8080/lwademo.v1.Demo/Hello
//	LWA_TOKEN='Atza|…' go run ./examples/rpcclient -protocol grpc-web -url http://127.0.0.1:8080/lwademo.v1.Demo/Me
//
// The procedure takes a google.protobuf.Empty and answers a
// google.protobuf.Struct, printed as JSON. No code generation is needed:
// the well-known types are the messages.
//
// Flags:
//
//	-url       the procedure's URL: the server's base URL, then /package.Service/Method (required)
//	-token     the access token, sent as "Authorization: Bearer <token>" (default: $LWA_TOKEN; none when empty)
//	-protocol  connect (the default) or grpc-web, both over HTTP/1.1 or HTTP/2;
//	           or grpc, which needs HTTP/2 (h2c for an http:// URL)
//
// It exits 1 when the call fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		os.Exit(1)
	}
}

// run calls the procedure the flags in args name and prints the answer to
// stdout, or the rejection to stderr (returned, too). hc, when not nil,
// sends the requests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, hc *http.Client) error {
	fs := flag.NewFlagSet("rpcclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "the procedure's URL: base URL, then /package.Service/Method (required)")
	token := fs.String("token", os.Getenv("LWA_TOKEN"), "the LWA access token (default $LWA_TOKEN)")
	protocol := fs.String("protocol", "connect", "connect, grpc-web or grpc (grpc needs HTTP/2)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("rpcclient: -url is required, and nothing else")
	}
	var opts []connect.ClientOption
	switch *protocol {
	case "connect":
	case "grpc-web":
		opts = append(opts, connect.WithGRPCWeb())
	case "grpc":
		opts = append(opts, connect.WithGRPC())
	default:
		return fmt.Errorf("rpcclient: unknown -protocol %q (want connect, grpc-web or grpc)", *protocol)
	}
	if hc == nil {
		hc = httpClient(*protocol == "grpc" && strings.HasPrefix(*target, "http://"))
		defer hc.CloseIdleConnections()
	}
	client := connect.NewClient[emptypb.Empty, structpb.Struct](hc, *target, opts...)
	req := connect.NewRequest(&emptypb.Empty{})
	if t := strings.TrimSpace(*token); t != "" {
		req.Header().Set("Authorization", "Bearer "+t)
	}
	res, err := client.CallUnary(ctx, req)
	if err != nil {
		fmt.Fprintln(stderr, describe(err))
		return err
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(res.Msg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}

// describe tells what a failed call's error says: its code, the LWA
// reason of its ErrorInfo detail, its message, and the RetryInfo delay.
func describe(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "error: %s", ce.Code())
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		switch v := v.(type) {
		case *errdetails.ErrorInfo:
			fmt.Fprintf(&b, " (reason %s)", v.GetReason())
		case *errdetails.RetryInfo:
			fmt.Fprintf(&b, " (retry in %v)", v.GetRetryDelay().AsDuration())
		}
	}
	fmt.Fprintf(&b, ": %s", ce.Message())
	return b.String()
}

// httpClient returns the client to call with: HTTP/2 without TLS (h2c)
// for gRPC to an http:// URL, since gRPC requires HTTP/2; else the default
// client (HTTP/1.1, or HTTP/2 when TLS negotiates it).
func httpClient(h2c bool) *http.Client {
	if !h2c {
		return http.DefaultClient
	}
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols}}
}
