package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/lwatest"
)

// grpcLogs captures everything gRPC-Go logs, at every verbosity. gRPC's
// logger must be set before any gRPC function runs.
var grpcLogs = &records{}

func init() {
	grpclog.SetLoggerV2(grpclog.NewLoggerV2WithVerbosity(grpcLogs, grpcLogs, grpcLogs, 99))
}

const (
	rpcUnary  = "/lwa.audit.Probe/Unary"
	rpcStream = "/lwa.audit.Probe/Stream"
	// rpcHeader is a custom token header (core.WithTokenHeader), as gRPC
	// metadata keys it.
	rpcHeader = "x-api-token"
)

// rpcResult is what an RPC client saw of one call.
type rpcResult struct {
	code    uint32
	message string
	details []proto.Message
	meta    http.Header
	err     error
	replies []string
}

// rpcClient calls the audit's two methods with the given metadata.
type rpcClient func(ctx context.Context, method string, kv []string) rpcResult

// rpcAdapter serves the two methods behind one RPC adapter, with the
// logging a real server has outside it (which logs what the call ended
// with) and an error mapper that records what it receives and answers the
// default, and returns a client (on one protocol).
type rpcAdapter struct {
	name  string
	serve func(t *testing.T, v *core.Verifier, log *slog.Logger, got *errs) rpcClient
}

// rpcReply is the handlers' answer.
func rpcReply(ctx context.Context) string {
	p, ok := core.FromContext(ctx)
	return fmt.Sprintf(`{"ok":%v,"user_id":%q}`, ok, p.UserID)
}

// logErr logs a call's error the way an app's own logging interceptor
// might: its text, its Go syntax, and its status details.
func logErr(log *slog.Logger, method string, err error) {
	if err == nil {
		log.Info("call ok", "method", method)
		return
	}
	st := status.Convert(err)
	log.Warn("call failed", "method", method, "err", err, "plus", fmt.Sprintf("%+v", err), "gosyntax", fmt.Sprintf("%#v", err),
		"code", st.Code().String(), "details", fmt.Sprint(st.Details()), "proto", prototext.Format(st.Proto()))
	var ce *connect.Error
	if errors.As(err, &ce) {
		log.Warn("connect error", "meta", fmt.Sprint(ce.Meta()), "details", fmt.Sprint(ce.Details()))
	}
}

// listenRPC listens on a loopback TCP port.
func listenRPC(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func grpcAdapter() rpcAdapter {
	return rpcAdapter{"grpclwa", func(t *testing.T, v *core.Verifier, log *slog.Logger, got *errs) rpcClient {
		cfg := grpclwa.Config{ErrorMapper: func(_ context.Context, _ string, e *core.Error) error {
			got.add(e)
			return nil
		}}
		mwLog := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
			log.Log(ctx, slog.Level(lvl), "grpc-middleware: "+msg, fields...)
		})
		events := logging.WithLogOnEvents(logging.StartCall, logging.FinishCall)
		own := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			res, err := h(ctx, req)
			logErr(log, info.FullMethod, err)
			return res, err
		}
		ownStream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			err := h(srv, ss)
			logErr(log, info.FullMethod, err)
			return err
		}
		srv := grpc.NewServer(
			grpc.ChainUnaryInterceptor(logging.UnaryServerInterceptor(mwLog, events), own, grpclwa.UnaryServerInterceptor(v, cfg)),
			grpc.ChainStreamInterceptor(logging.StreamServerInterceptor(mwLog, events), ownStream, grpclwa.StreamServerInterceptor(v, cfg)),
		)
		srv.RegisterService(&grpc.ServiceDesc{
			ServiceName: "lwa.audit.Probe",
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(wrapperspb.StringValue)
				if err := dec(in); err != nil {
					return nil, err
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: rpcUnary}, func(ctx context.Context, _ any) (any, error) {
					return wrapperspb.String(rpcReply(ctx)), nil
				})
			}}},
			Streams: []grpc.StreamDesc{{StreamName: "Stream", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
					return err
				}
				return ss.SendMsg(wrapperspb.String(rpcReply(ss.Context())))
			}}},
		}, struct{}{})
		ln := listenRPC(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(ln)
		}()
		t.Cleanup(func() {
			srv.Stop()
			<-done
		})
		cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		return func(ctx context.Context, method string, kv []string) rpcResult {
			ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
			var r rpcResult
			var header, trailer metadata.MD
			out := new(wrapperspb.StringValue)
			var err error
			if method == rpcUnary {
				err = cc.Invoke(ctx, method, new(wrapperspb.StringValue), out, grpc.Header(&header), grpc.Trailer(&trailer))
				if err == nil {
					r.replies = append(r.replies, out.GetValue())
				}
			} else {
				var s grpc.ClientStream
				if s, err = cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method); err == nil {
					_ = s.SendMsg(new(wrapperspb.StringValue))
					_ = s.CloseSend()
					for err = s.RecvMsg(out); err == nil; err = s.RecvMsg(out) {
						r.replies = append(r.replies, out.GetValue())
					}
					if errors.Is(err, io.EOF) {
						err = nil
					}
					header, _ = s.Header()
					trailer = s.Trailer()
				}
			}
			st := status.Convert(err)
			r.code, r.message, r.err = uint32(st.Code()), st.Message(), err
			for _, d := range st.Details() {
				if m, ok := d.(proto.Message); ok {
					r.details = append(r.details, m)
				}
			}
			r.meta = http.Header{}
			for _, md := range []metadata.MD{header, trailer} {
				for k, vs := range md {
					r.meta[k] = append(r.meta[k], vs...)
				}
			}
			return r
		}
	}}
}

func connectAdapter(protocol string, opts ...connect.ClientOption) rpcAdapter {
	return rpcAdapter{"connectlwa/" + protocol, func(t *testing.T, v *core.Verifier, log *slog.Logger, got *errs) rpcClient {
		lwa := connectlwa.NewInterceptor(v, connectlwa.Config{ErrorMapper: func(_ context.Context, _ string, e *core.Error) error {
			got.add(e)
			return nil
		}})
		ic := connect.WithInterceptors(logInterceptor{log}, lwa)
		mux := http.NewServeMux()
		mux.Handle(rpcUnary, connect.NewUnaryHandler(rpcUnary, func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(wrapperspb.String(rpcReply(ctx))), nil
		}, ic))
		mux.Handle(rpcStream, connect.NewServerStreamHandler(rpcStream, func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue], out *connect.ServerStream[wrapperspb.StringValue]) error {
			return out.Send(wrapperspb.String(rpcReply(ctx)))
		}, ic))
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: mux, Protocols: &protocols, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}
		ln := listenRPC(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(ln)
		}()
		t.Cleanup(func() {
			_ = srv.Close()
			<-done
		})
		tr := &http.Transport{Protocols: &protocols}
		t.Cleanup(tr.CloseIdleConnections)
		hc := &http.Client{Transport: tr}
		base := "http://" + ln.Addr().String()
		unary := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+rpcUnary, opts...)
		stream := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+rpcStream, opts...)
		return func(ctx context.Context, method string, kv []string) rpcResult {
			req := connect.NewRequest(new(wrapperspb.StringValue))
			for i := 0; i+1 < len(kv); i += 2 {
				req.Header().Add(kv[i], kv[i+1])
			}
			var r rpcResult
			var err error
			if method == rpcUnary {
				var res *connect.Response[wrapperspb.StringValue]
				if res, err = unary.CallUnary(ctx, req); err == nil {
					r.replies = append(r.replies, res.Msg.GetValue())
				}
			} else {
				var s *connect.ServerStreamForClient[wrapperspb.StringValue]
				if s, err = stream.CallServerStream(ctx, req); err == nil {
					for s.Receive() {
						r.replies = append(r.replies, s.Msg().GetValue())
					}
					err = s.Err()
					_ = s.Close()
				}
			}
			r.err, r.meta = err, http.Header{}
			if err != nil {
				r.code = uint32(connect.CodeOf(err))
				var ce *connect.Error
				if errors.As(err, &ce) {
					r.message, r.meta = ce.Message(), ce.Meta()
					for _, d := range ce.Details() {
						if m, derr := d.Value(); derr == nil {
							r.details = append(r.details, m)
						}
					}
				}
			}
			return r
		}
	}}
}

// logInterceptor logs every Connect call's outcome, outside lwa's.
type logInterceptor struct{ log *slog.Logger }

func (l logInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		logErr(l.log, req.Spec().Procedure, err)
		return res, err
	}
}

func (l logInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (l logInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		logErr(l.log, conn.Spec().Procedure, err)
		return err
	}
}

var rpcAdapters = []rpcAdapter{
	grpcAdapter(),
	connectAdapter("connect"),
	connectAdapter("grpc", connect.WithGRPC()),
	connectAdapter("grpc-web", connect.WithGRPCWeb()),
}

// rpcRows are the error table's rows for RPC clients. gRPC clients refuse
// to send a non-ASCII metadata value, so that row sends it percent-encoded,
// which the verifier decodes and refuses in the same way.
func rpcRows() []row {
	out := make([]row, 0, len(rows))
	for _, r := range rows {
		if r.name == "malformed: non-ASCII byte" {
			r.name = "malformed: encoded non-ASCII byte"
			r.setup = func(*lwatest.Server) []string {
				t := newToken(405)
				return []string{t[:200] + "%C3%A9" + t[200:]}
			}
		}
		out = append(out, r)
	}
	return out
}

// rpcDeliveries are the ways the first token travels in metadata.
var rpcDeliveries = []string{"authorization", "x-amz-access-token", rpcHeader}

// rpcMetadata returns the metadata carrying tokens by delivery (the second
// token, if any, in another key).
func rpcMetadata(delivery string, tokens []string) []string {
	var kv []string
	if len(tokens) > 0 {
		v := tokens[0]
		if delivery == "authorization" {
			v = "Bearer " + v
		}
		kv = append(kv, delivery, v)
	}
	if len(tokens) > 1 {
		if delivery == "authorization" {
			kv = append(kv, "x-amz-access-token", tokens[1])
		} else {
			kv = append(kv, "authorization", "Bearer "+tokens[1])
		}
	}
	return kv
}

// TestRPCNoSecretInStatusesLogsOrErrors drives every row of the error
// table (and a success) through both RPC adapters (connectlwa with
// Connect-Go clients on its three protocols), unary and server-streaming,
// with every token source, on real loopback servers, with the library's,
// the interceptors' and gRPC-Go's own logs captured at their most verbose,
// and checks that no token, nor any 8-byte piece of one, appears in the
// status message, the details, the metadata or the error the client gets,
// in any log record, or in the error the custom error mapper receives.
func TestRPCNoSecretInStatusesLogsOrErrors(t *testing.T) {
	recs := &records{}
	logger := slog.New(slog.NewJSONHandler(recs, &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}))
	prevDefault := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prevDefault) })

	checked := 0
	for _, a := range rpcAdapters {
		for _, r := range rpcRows() {
			for _, delivery := range rpcDeliveries {
				t.Run(a.name+"/"+r.name+"/"+delivery, func(t *testing.T) {
					srv := lwatest.NewServer()
					t.Cleanup(srv.Close)
					secrets := r.setup(srv)
					v, err := core.NewVerifier(
						core.WithClientID(clientID),
						core.WithEndpoint(srv.URL),
						core.WithTimeout(300*time.Millisecond),
						core.WithTokenHeader(rpcHeader),
						core.WithLogger(logger),
					)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { v.Close() })
					got := &errs{}
					call := a.serve(t, v, logger, got)
					before := len(recs.all())
					grpcBefore := len(grpcLogs.all())

					var results []rpcResult
					for _, method := range []string{rpcUnary, rpcStream} {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						res := call(ctx, method, rpcMetadata(delivery, secrets))
						cancel()
						results = append(results, res)
						// The row really is the row.
						if r.status == 200 {
							if res.code != 0 || len(res.replies) != 1 || !strings.Contains(res.replies[0], `"ok":true`) {
								t.Fatalf("%s: a success without a profile: %d %q %v", method, res.code, res.message, res.replies)
							}
						} else if res.code == 0 || !hasReason(res.details, r.code) {
							t.Fatalf("%s: code %d %q, details %v; want the reason %q", method, res.code, res.message, res.details, r.code)
						}
					}
					handled := got.take()
					if want := map[bool]int{true: 0, false: 2}[r.status == 200]; len(handled) != want {
						t.Fatalf("the error mapper saw %d errors, want %d: %v", len(handled), want, handled)
					}
					logged := recs.all()[before:]
					if r.status != 200 && !strings.Contains(strings.Join(logged, ""), `"msg":"lwa: request rejected"`) {
						t.Fatalf("no Debug record of the rejection captured: %q", logged)
					}
					if !strings.Contains(strings.Join(logged, ""), `"msg":"call `) {
						t.Fatalf("the logging interceptor logged nothing: %q", logged)
					}
					if len(secrets) == 0 {
						return
					}
					where := map[string][]string{}
					for _, res := range results {
						where["status message"] = append(where["status message"], res.message)
						where["client error"] = append(where["client error"], errorStrings(res.err)...)
						for _, d := range res.details {
							where["status detail"] = append(where["status detail"], prototext.Format(d), fmt.Sprintf("%v", d))
						}
						for k, vs := range res.meta {
							where["metadata "+k] = append(append(where["metadata "+k], k), vs...)
						}
					}
					for _, err := range handled {
						where["error mapper's error"] = append(where["error mapper's error"], errorStrings(err)...)
					}
					where["slog record"] = logged
					where["gRPC log"] = grpcLogs.all()[grpcBefore:]
					for what, texts := range where {
						for _, text := range texts {
							if piece, ok := leak(text, secrets); ok {
								t.Errorf("%s carries %q, a piece of the token: %q", what, piece, text)
							}
						}
					}
					// A positive control of the detector: the metadata the
					// client sent does show the token.
					if _, ok := leak(strings.Join(rpcMetadata(delivery, secrets), " "), secrets[:1]); !ok {
						t.Errorf("control: the detector does not see the token in the metadata sent")
					}
					checked++
				})
			}
		}
	}
	if len(grpcLogs.all()) == 0 {
		t.Errorf("gRPC's logger captured nothing: the capture is not wired")
	}
	t.Logf("%d adapter × row × source combinations audited with a token, unary and streaming", checked)
}

// hasReason reports whether details hold an ErrorInfo whose reason is
// reason.
func hasReason(details []proto.Message, reason string) bool {
	for _, d := range details {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason {
			return true
		}
	}
	return false
}
