package connectlwa_test

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/goleak"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpcconformance"
	"github.com/go-lwa/lwa/internal/rpcconformance/grpcclient"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, rpcconformance.LeakOptions()...)
}

// got reads what a handler can read of its call's credentials.
func got(ctx context.Context) rpcconformance.Got {
	g := rpcconformance.Got{Context: ctx}
	g.Profile, g.ProfileOK = connectlwa.Profile(ctx)
	g.Token, g.TokenOK = connectlwa.Token(ctx)
	g.Info, g.InfoOK = connectlwa.TokenInfo(ctx)
	return g
}

// mapper is the ErrorMapper a Setup asks for.
func mapper(on func(*core.Error, string) rpcconformance.Mapped) func(context.Context, string, *core.Error) error {
	return func(_ context.Context, procedure string, e *core.Error) error {
		switch on(e, procedure) {
		case rpcconformance.MapCustom:
			return connect.NewError(connect.Code(rpcconformance.CustomCode), errors.New("custom "+e.Code))
		case rpcconformance.MapOK:
			return connect.NewError(0, errors.New("ok"))
		case rpcconformance.MapPlain:
			return errors.New("plain " + e.Code)
		}
		return nil
	}
}

// interceptor is the interceptor s describes.
func interceptor(s rpcconformance.Setup) connect.Interceptor {
	if s.Verifier == nil {
		return connectlwa.Require(s.Options...)
	}
	cfg := connectlwa.Config{Policy: s.Policy, Methods: s.Methods, Skip: s.Skip, CheckHealth: s.CheckHealth}
	if s.OnError != nil {
		cfg.ErrorMapper = mapper(s.OnError)
	}
	return connectlwa.NewInterceptor(s.Verifier, cfg)
}

// handlers returns the suite's methods as Connect handlers, with opts.
func handlers(s rpcconformance.Setup, opts ...connect.HandlerOption) *http.ServeMux {
	unary := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		return connect.NewResponse(wrapperspb.String(s.Reply(got(ctx)))), nil
	}
	stream := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue], out *connect.ServerStream[wrapperspb.StringValue]) error {
		for range rpcconformance.StreamReplies {
			if err := out.Send(wrapperspb.String(s.Reply(got(ctx)))); err != nil {
				return err
			}
		}
		return nil
	}
	health := func(context.Context, *connect.Request[healthpb.HealthCheckRequest]) (*connect.Response[healthpb.HealthCheckResponse], error) {
		return connect.NewResponse(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}), nil
	}
	mux := http.NewServeMux()
	mux.Handle(rpcconformance.UnaryMethod, connect.NewUnaryHandler(rpcconformance.UnaryMethod, unary, opts...))
	mux.Handle(rpcconformance.StreamMethod, connect.NewServerStreamHandler(rpcconformance.StreamMethod, stream, opts...))
	mux.Handle(rpcconformance.OtherMethod, connect.NewUnaryHandler(rpcconformance.OtherMethod, unary, opts...))
	mux.Handle(rpcconformance.HealthMethod, connect.NewUnaryHandler(rpcconformance.HealthMethod, health, opts...))
	return mux
}

// listen serves h on a loopback TCP port, over HTTP/1.1 and HTTP/2
// without TLS (h2c), until the test ends, and returns host:port.
func listen(t testing.TB, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	// Whatever net/http would log (a trailer it refuses, a panic) fails
	// the test.
	errorLog := log.New(testLog{t}, "http.Server: ", 0)
	srv := &http.Server{Handler: h, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errorLog}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// testLog fails its test with whatever is written to it.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Errorf("%s", p)
	return len(p), nil
}

// httpClient returns a client speaking HTTP/2 without TLS (h2c), or
// HTTP/1.1, whose idle connections close when the test ends.
func httpClient(t testing.TB, http1 bool) *http.Client {
	var protocols http.Protocols
	if http1 {
		protocols.SetHTTP1(true)
	} else {
		protocols.SetUnencryptedHTTP2(true)
	}
	tr := &http.Transport{Protocols: &protocols, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// connectClient calls the suite's methods with a Connect client on one
// protocol.
type connectClient struct {
	unary, other, stream *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue]
	health               *connect.Client[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse]
}

func newConnectClient(hc *http.Client, base string, opts ...connect.ClientOption) *connectClient {
	return &connectClient{
		unary:  connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+rpcconformance.UnaryMethod, opts...),
		other:  connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+rpcconformance.OtherMethod, opts...),
		stream: connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+rpcconformance.StreamMethod, opts...),
		health: connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](hc, base+rpcconformance.HealthMethod, opts...),
	}
}

// request returns a request carrying kv as its headers.
func request[T any](msg *T, kv []string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header().Add(kv[i], kv[i+1])
	}
	return req
}

func (c *connectClient) Call(ctx context.Context, method string, kv ...string) rpcconformance.Result {
	var r rpcconformance.Result
	var err error
	switch method {
	case rpcconformance.StreamMethod:
		var s *connect.ServerStreamForClient[wrapperspb.StringValue]
		if s, err = c.stream.CallServerStream(ctx, request(&wrapperspb.StringValue{}, kv)); err == nil {
			for s.Receive() {
				r.Replies = append(r.Replies, s.Msg().GetValue())
			}
			err = s.Err()
			_ = s.Close()
		}
	case rpcconformance.HealthMethod:
		var res *connect.Response[healthpb.HealthCheckResponse]
		if res, err = c.health.CallUnary(ctx, request(&healthpb.HealthCheckRequest{}, kv)); err == nil {
			r.Replies = []string{res.Msg.GetStatus().String()}
		}
	default:
		client := c.unary
		if method == rpcconformance.OtherMethod {
			client = c.other
		}
		var res *connect.Response[wrapperspb.StringValue]
		if res, err = client.CallUnary(ctx, request(&wrapperspb.StringValue{}, kv)); err == nil {
			r.Replies = []string{res.Msg.GetValue()}
		}
	}
	r.Err = err
	r.Meta = http.Header{}
	if err != nil {
		r.Code = uint32(connect.CodeOf(err))
		var ce *connect.Error
		if errors.As(err, &ce) {
			r.Message = ce.Message()
			r.Meta = ce.Meta()
			for _, d := range ce.Details() {
				if m, derr := d.Value(); derr == nil {
					r.Details = append(r.Details, m)
				}
			}
		}
	}
	return r
}

// clients are the clients the suite runs with: Connect's own on each
// protocol, and gRPC-Go's.
var clients = []struct {
	name string
	dial func(t testing.TB, addr string) rpcconformance.Client
	meta bool // the Connect protocol: errors carry the HTTP headers
	half bool // HTTP/1.1
}{
	{"connect", func(t testing.TB, addr string) rpcconformance.Client {
		return newConnectClient(httpClient(t, false), "http://"+addr)
	}, true, false},
	{"connect over HTTP/1.1", func(t testing.TB, addr string) rpcconformance.Client {
		return newConnectClient(httpClient(t, true), "http://"+addr)
	}, true, true},
	{"grpc", func(t testing.TB, addr string) rpcconformance.Client {
		return newConnectClient(httpClient(t, false), "http://"+addr, connect.WithGRPC())
	}, false, false},
	{"grpc-web", func(t testing.TB, addr string) rpcconformance.Client {
		return newConnectClient(httpClient(t, false), "http://"+addr, connect.WithGRPCWeb())
	}, false, false},
	{"gRPC-Go client", func(t testing.TB, addr string) rpcconformance.Client {
		return grpcclient.Dial(t, addr)
	}, false, false},
}

func TestConformance(t *testing.T) {
	t.Cleanup(func() { _ = core.CloseRequired() })
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			rpcconformance.Run(t, rpcconformance.Adapter{
				Name: "connectlwa",
				Serve: func(t testing.TB, s rpcconformance.Setup) rpcconformance.Client {
					mux := handlers(s, connect.WithInterceptors(interceptor(s)))
					return c.dial(t, listen(t, mux))
				},
				Require:    func(opts ...core.Option) { connectlwa.Require(opts...) },
				HTTPMeta:   c.meta,
				HalfDuplex: c.half,
			})
		})
	}
}
