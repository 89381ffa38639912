package grpclwa_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/internal/rpckit"
	"github.com/go-lwa/lwa/lwatest"
)

// TestCodesAgree: rpckit numbers its codes as gRPC does.
func TestCodesAgree(t *testing.T) {
	for c, want := range map[rpckit.Code]codes.Code{
		rpckit.OK: codes.OK, rpckit.Canceled: codes.Canceled, rpckit.Unknown: codes.Unknown,
		rpckit.InvalidArgument: codes.InvalidArgument, rpckit.DeadlineExceeded: codes.DeadlineExceeded,
		rpckit.PermissionDenied: codes.PermissionDenied, rpckit.Internal: codes.Internal,
		rpckit.Unavailable: codes.Unavailable, rpckit.Unauthenticated: codes.Unauthenticated,
	} {
		assert.Equal(t, want, codes.Code(c), "%s", want)
	}
}

// TestConstants: the exported constants are rpckit's.
func TestConstants(t *testing.T) {
	assert.Equal(t, rpckit.ErrorDomain, grpclwa.ErrorDomain)
	assert.Equal(t, rpckit.HealthService, grpclwa.HealthService)
}

// TestStatusTable: Status maps every row of the error table, including
// core.NewError's and bare sentinels.
func TestStatusTable(t *testing.T) {
	for _, c := range []struct {
		err    error
		code   codes.Code
		reason string
		retry  time.Duration
	}{
		{core.ErrMissingToken, codes.Unauthenticated, core.CodeInvalidRequest, 0},
		{core.ErrMalformedToken, codes.InvalidArgument, core.CodeInvalidRequest, 0},
		{core.ErrInvalidToken, codes.Unauthenticated, core.CodeInvalidToken, 0},
		{core.ErrNotOurToken, codes.Unauthenticated, core.CodeNotFound, 0},
		{core.ErrInsufficientScope, codes.PermissionDenied, core.CodeInsufficientScope, 0},
		{core.ErrUpstream, codes.Unavailable, core.CodeServerError, 0},
		{core.ErrUpstreamTimeout, codes.DeadlineExceeded, core.CodeServerError, 0},
		{core.NewError(core.ErrUpstreamUnavailable, "paused"), codes.Unavailable, core.CodeServerError, 0},
		{&core.Error{Status: 503, Code: core.CodeServerError, Description: "paused", RetryAfter: 1500 * time.Millisecond},
			codes.Unavailable, core.CodeServerError, 2 * time.Second},
		{&core.Error{Status: 400, Code: core.CodeInvalidToken, Description: "gone", RequestID: "rid-1"},
			codes.Unauthenticated, core.CodeInvalidToken, 0},
		{errors.New("something else"), codes.Internal, core.CodeServerError, 0},
		{fmt.Errorf("wrapped: %w", core.ErrInsufficientScope), codes.PermissionDenied, core.CodeInsufficientScope, 0},
	} {
		t.Run(fmt.Sprint(c.err), func(t *testing.T) {
			st := grpclwa.Status(c.err)
			require.NotNil(t, st)
			assert.Equal(t, c.code, st.Code())
			assert.NotEmpty(t, st.Message())
			var info *errdetails.ErrorInfo
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.RetryInfo:
					retry = d
				default:
					t.Errorf("detail %T", d)
				}
			}
			require.NotNil(t, info)
			assert.Equal(t, c.reason, info.GetReason())
			assert.Equal(t, grpclwa.ErrorDomain, info.GetDomain())
			var ce *core.Error
			if errors.As(c.err, &ce) && ce.RequestID != "" {
				assert.Equal(t, map[string]string{"request_id": ce.RequestID}, info.GetMetadata())
			}
			if c.retry > 0 {
				require.NotNil(t, retry)
				assert.Equal(t, c.retry, retry.GetRetryDelay().AsDuration())
			} else {
				assert.Nil(t, retry)
			}
		})
	}
	assert.Nil(t, grpclwa.Status(nil))
}

// TestStatusCallerGone: a caller whose own context ended is answered
// Canceled or DeadlineExceeded, not as Amazon's failure.
func TestStatusCallerGone(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	tok := srv.Token(core.Profile{Name: "Ada"})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.Verify(ctx, tok)
	require.Error(t, err)
	assert.Equal(t, codes.Canceled, grpclwa.Status(err).Code(), "%v", err)

	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	_, err = v.Verify(dctx, srv.Token(core.Profile{Name: "Bo"}))
	require.Error(t, err)
	assert.Equal(t, codes.DeadlineExceeded, grpclwa.Status(err).Code(), "%v", err)
}

// TestRejectionError: the interceptor's error is a status error that still
// unwraps to the *core.Error, for interceptors around it (logging).
func TestRejectionError(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	tok := srv.Token(core.Profile{Name: "Ada"})
	srv.Revoke(tok)
	ic := grpclwa.UnaryServerInterceptor(v)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	ran := false
	_, err := ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x.Y/Z"}, func(context.Context, any) (any, error) {
		ran = true
		return nil, nil
	})
	require.Error(t, err)
	assert.False(t, ran)
	st, ok := status.FromError(err)
	require.True(t, ok)
	assert.Equal(t, codes.Unauthenticated, st.Code())
	assert.ErrorIs(t, err, core.ErrInvalidToken)
	var ce *core.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, core.CodeInvalidToken, ce.Code)
	assert.Equal(t, st.Err().Error(), err.Error())
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		assert.NotContains(t, text, tok[5:20])
	}
}

// TestConstructorsPanic: a nil verifier or two Configs panic, naming the
// function.
func TestConstructorsPanic(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	for name, f := range map[string]func(){
		"grpclwa.UnaryServerInterceptor: ":  func() { grpclwa.UnaryServerInterceptor(nil) },
		"grpclwa.StreamServerInterceptor: ": func() { grpclwa.StreamServerInterceptor(v, grpclwa.Config{}, grpclwa.Config{}) },
		"grpclwa.ServerOptions: ":           func() { grpclwa.ServerOptions(nil) },
	} {
		assert.PanicsWithValue(t, name+"want a non-nil *core.Verifier and at most one Config", f)
	}
}

// TestStreamContext: the stream the handler gets answers Context() with
// the credentials and passes everything else to the real stream.
func TestStreamContext(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	ada := core.Profile{UserID: "amzn1.account.ADA", Name: "Ada"}
	tok := srv.Token(ada)
	ic := grpclwa.StreamServerInterceptor(v)
	base := &fakeStream{ctx: metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-amz-access-token", tok))}
	err := ic(nil, base, &grpc.StreamServerInfo{FullMethod: "/x.Y/Z", IsServerStream: true}, func(_ any, ss grpc.ServerStream) error {
		p, ok := grpclwa.Profile(ss.Context())
		assert.True(t, ok)
		assert.Equal(t, ada, p)
		got, ok := grpclwa.Token(ss.Context())
		assert.True(t, ok)
		assert.Equal(t, tok, got)
		return ss.SendMsg("hello")
	})
	require.NoError(t, err)
	assert.Equal(t, []any{"hello"}, base.sent)

	// Without credentials on an optional stream, the stream itself.
	opt := grpclwa.StreamServerInterceptor(v, grpclwa.Config{Policy: core.Policy{Optional: true}})
	bare := &fakeStream{ctx: context.Background()}
	require.NoError(t, opt(nil, bare, &grpc.StreamServerInfo{FullMethod: "/x.Y/Z"}, func(_ any, ss grpc.ServerStream) error {
		assert.Same(t, bare, ss)
		return nil
	}))
}

// fakeStream is a grpc.ServerStream that records what is sent.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []any
}

func (s *fakeStream) Context() context.Context { return s.ctx }
func (s *fakeStream) SendMsg(m any) error      { s.sent = append(s.sent, m); return nil }
