package grpclwa_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/internal/rpcconformance"
	"github.com/go-lwa/lwa/internal/rpcconformance/grpcclient"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, rpcconformance.LeakOptions()...)
}

// got reads what a handler can read of its call's credentials.
func got(ctx context.Context) rpcconformance.Got {
	g := rpcconformance.Got{Context: ctx}
	g.Profile, g.ProfileOK = grpclwa.Profile(ctx)
	g.Token, g.TokenOK = grpclwa.Token(ctx)
	g.Info, g.InfoOK = grpclwa.TokenInfo(ctx)
	return g
}

// probeService describes a service of the suite with a unary method
// (Unary) and, when stream is set, a server-streaming one (Stream), whose
// handlers answer s.Reply.
func probeService(name string, s rpcconformance.Setup, stream bool) *grpc.ServiceDesc {
	full := "/" + name + "/Unary"
	d := &grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Unary",
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				h := func(ctx context.Context, _ any) (any, error) { return wrapperspb.String(s.Reply(got(ctx))), nil }
				if ic == nil {
					return h(ctx, in)
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, h)
			},
		}},
	}
	if stream {
		d.Streams = []grpc.StreamDesc{{
			StreamName:    "Stream",
			ServerStreams: true,
			Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
					return err
				}
				for range rpcconformance.StreamReplies {
					if err := ss.SendMsg(wrapperspb.String(s.Reply(got(ss.Context())))); err != nil {
						return err
					}
				}
				return nil
			},
		}}
	}
	return d
}

// okStatus is an error whose gRPC status is OK.
type okStatus struct{}

func (okStatus) Error() string              { return "ok" }
func (okStatus) GRPCStatus() *status.Status { return status.New(codes.OK, "") }

// mapper is the ErrorMapper a Setup asks for.
func mapper(on func(*core.Error, string) rpcconformance.Mapped) func(context.Context, string, *core.Error) error {
	return func(_ context.Context, fullMethod string, e *core.Error) error {
		switch on(e, fullMethod) {
		case rpcconformance.MapCustom:
			return status.Error(codes.Code(rpcconformance.CustomCode), "custom "+e.Code)
		case rpcconformance.MapOK:
			return okStatus{}
		case rpcconformance.MapPlain:
			return errors.New("plain " + e.Code)
		}
		return nil
	}
}

// serve starts a gRPC server on a loopback TCP port with the suite's
// services behind grpclwa's interceptors, and returns a gRPC client of it.
func serve(t testing.TB, s rpcconformance.Setup) rpcconformance.Client {
	var opts []grpc.ServerOption
	if s.Verifier == nil {
		opts = grpclwa.Require(s.Options...)
	} else {
		cfg := grpclwa.Config{Policy: s.Policy, Methods: s.Methods, Skip: s.Skip, CheckHealth: s.CheckHealth}
		if s.OnError != nil {
			cfg.ErrorMapper = mapper(s.OnError)
		}
		opts = []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(grpclwa.UnaryServerInterceptor(s.Verifier, cfg)),
			grpc.ChainStreamInterceptor(grpclwa.StreamServerInterceptor(s.Verifier, cfg)),
		}
	}
	return start(t, grpc.NewServer(opts...), s)
}

// start registers the suite's services on srv, serves it on a loopback TCP
// port until the test ends, and returns a client of it.
func start(t testing.TB, srv *grpc.Server, s rpcconformance.Setup) rpcconformance.Client {
	srv.RegisterService(probeService(rpcconformance.ProbeService, s, true), struct{}{})
	srv.RegisterService(probeService(rpcconformance.OtherService, s, false), struct{}{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return grpcclient.Dial(t, ln.Addr().String())
}

func TestConformance(t *testing.T) {
	t.Cleanup(func() { _ = core.CloseRequired() })
	rpcconformance.Run(t, rpcconformance.Adapter{
		Name:    "grpclwa",
		Serve:   serve,
		Require: func(opts ...core.Option) { grpclwa.Require(opts...) },
	})
}

// TestServerOptions runs the suite's error table and credentials through
// ServerOptions, the one-call setup.
func TestServerOptions(t *testing.T) {
	t.Cleanup(func() { _ = core.CloseRequired() })
	rpcconformance.Run(t, rpcconformance.Adapter{
		Name: "grpclwa",
		Serve: func(t testing.TB, s rpcconformance.Setup) rpcconformance.Client {
			if s.Verifier == nil {
				return serve(t, s)
			}
			cfg := grpclwa.Config{Policy: s.Policy, Methods: s.Methods, Skip: s.Skip, CheckHealth: s.CheckHealth}
			if s.OnError != nil {
				cfg.ErrorMapper = mapper(s.OnError)
			}
			return start(t, grpc.NewServer(grpclwa.ServerOptions(s.Verifier, cfg)...), s)
		},
		Require: func(opts ...core.Option) { grpclwa.Require(opts...) },
	})
}
