// Package grpcclient is the suite's gRPC-Go client: an
// rpcconformance.Client over a real *grpc.ClientConn, used against
// grpclwa's servers and, to show that gRPC clients read connectlwa's
// errors too, against connectlwa's.
package grpcclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/internal/rpcconformance"
)

// Client calls the suite's methods on one connection.
type Client struct {
	cc *grpc.ClientConn
}

// Dial connects to addr (host:port, plaintext HTTP/2) and closes the
// connection when the test ends.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return &Client{cc: cc}
}

// Call calls method with kv as its metadata.
func (c *Client) Call(ctx context.Context, method string, kv ...string) rpcconformance.Result {
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(kv...))
	var header, trailer metadata.MD
	var r rpcconformance.Result
	var err error
	switch method {
	case rpcconformance.StreamMethod:
		r.Replies, header, trailer, err = c.stream(ctx, method)
	case rpcconformance.HealthMethod:
		out := &healthpb.HealthCheckResponse{}
		err = c.cc.Invoke(ctx, method, &healthpb.HealthCheckRequest{}, out, grpc.Header(&header), grpc.Trailer(&trailer))
		if err == nil {
			r.Replies = []string{out.GetStatus().String()}
		}
	default:
		out := &wrapperspb.StringValue{}
		err = c.cc.Invoke(ctx, method, &wrapperspb.StringValue{}, out, grpc.Header(&header), grpc.Trailer(&trailer))
		if err == nil {
			r.Replies = []string{out.GetValue()}
		}
	}
	r.Err = err
	st := status.Convert(err)
	r.Code, r.Message = uint32(st.Code()), st.Message()
	for _, d := range st.Details() {
		if m, ok := d.(proto.Message); ok {
			r.Details = append(r.Details, m)
		}
	}
	r.Meta = http.Header{}
	for _, md := range []metadata.MD{header, trailer} {
		for k, vs := range md {
			for _, v := range vs {
				r.Meta.Add(k, v)
			}
		}
	}
	return r
}

// stream calls a server-streaming method and reads it to its end.
func (c *Client) stream(ctx context.Context, method string) (replies []string, header, trailer metadata.MD, err error) {
	s, err := c.cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() { header, _ = s.Header(); trailer = s.Trailer() }()
	if err := s.SendMsg(&wrapperspb.StringValue{}); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, nil, nil, err
	}
	for {
		out := &wrapperspb.StringValue{}
		if err := s.RecvMsg(out); err != nil {
			if errors.Is(err, io.EOF) {
				return replies, nil, nil, nil
			}
			return replies, nil, nil, err
		}
		replies = append(replies, out.GetValue())
	}
}
