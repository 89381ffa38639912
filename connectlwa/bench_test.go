package connectlwa_test

// The cached path through connectlwa, against the same call without it, in
// one run:
//
//   - BenchmarkInterceptor/...: the wrapped unary function alone, called
//     in-process with a request carrying the token, and a handler that
//     returns at once: what the check adds to a call.
//   - BenchmarkLoopback/...: whole unary calls of a Connect client to a
//     real server on a loopback TCP port, over h2c.
//
//	go test -run '^$' -bench 'Interceptor|Loopback' -benchmem -count 6 ./connectlwa/
//
// TestInterceptorAllocs holds the allocations of the cached path.

import (
	"context"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

const benchProcedure = "/lwa.bench.Echo/Unary"

// benchVerifier returns a verifier against lwatest and a token it has
// cached.
func benchVerifier(tb testing.TB) (*core.Verifier, string) {
	tb.Helper()
	srv := lwatest.NewServer()
	tb.Cleanup(srv.Close)
	v, err := core.NewVerifier(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	tok := srv.Token(core.Profile{Name: "Alice Example", Email: "alice@example.com", PostalCode: "98052"})
	if _, err := v.Verify(context.Background(), tok); err != nil {
		tb.Fatal(err)
	}
	return v, tok
}

// echo is a unary function that returns at once.
func echo(context.Context, connect.AnyRequest) (connect.AnyResponse, error) { return nil, nil }

func BenchmarkInterceptor(b *testing.B) {
	v, tok := benchVerifier(b)
	req := connect.NewRequest(&wrapperspb.StringValue{})
	req.Header().Set("Authorization", "Bearer "+tok)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		f    connect.UnaryFunc
	}{
		{"bare", echo},
		{"connectlwa-cached", connectlwa.NewInterceptor(v).WrapUnary(echo)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.f(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLoopback(b *testing.B) {
	v, tok := benchVerifier(b)
	for _, c := range []struct {
		name string
		opts []connect.HandlerOption
	}{
		{"bare", nil},
		{"connectlwa-cached", []connect.HandlerOption{connect.WithInterceptors(connectlwa.NewInterceptor(v))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			mux := http.NewServeMux()
			mux.Handle(benchProcedure, connect.NewUnaryHandler(benchProcedure,
				func(context.Context, *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
					return connect.NewResponse(&wrapperspb.StringValue{}), nil
				}, c.opts...))
			client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](
				httpClient(b, false), "http://"+listen(b, mux)+benchProcedure)
			req := connect.NewRequest(&wrapperspb.StringValue{})
			req.Header().Set("Authorization", "Bearer "+tok)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.CallUnary(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInterceptorAllocs: a cached check adds one allocation to a call, the
// context that carries the credentials (core's, as context.WithValue would
// be); connectlwa itself allocates nothing on this path.
func TestInterceptorAllocs(t *testing.T) {
	v, tok := benchVerifier(t)
	req := connect.NewRequest(&wrapperspb.StringValue{})
	req.Header().Set("Authorization", "Bearer "+tok)
	ctx := context.Background()
	var got int
	handler := func(ctx context.Context, _ connect.AnyRequest) (connect.AnyResponse, error) {
		if _, ok := connectlwa.Profile(ctx); ok {
			got++
		}
		return nil, nil
	}
	wrapped := connectlwa.NewInterceptor(v).WrapUnary(handler)
	bare := testing.AllocsPerRun(200, func() { _, _ = handler(ctx, req) })
	lwa := testing.AllocsPerRun(200, func() {
		if _, err := wrapped(ctx, req); err != nil {
			t.Fatal(err)
		}
	})
	if got == 0 {
		t.Fatal("the handler never saw a profile")
	}
	if extra := lwa - bare; extra > 1 {
		t.Errorf("a cached check adds %v allocations, want at most 1 (the credentials context)", extra)
	}
}
