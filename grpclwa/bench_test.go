package grpclwa_test

// The peer benchmark of issue 18: a cached check through grpclwa, a bare
// gRPC call, and go-grpc-middleware/v2's auth interceptor with an HS256 JWT
// check (github.com/golang-jwt/jwt/v5), in one run. Two views:
//
//   - BenchmarkPeers/interceptor/...: the interceptor alone, called
//     in-process with a context that carries the call's incoming metadata,
//     as gRPC-Go calls it, and a handler that returns at once: what each
//     check adds to a call.
//   - BenchmarkPeers/loopback/...: whole unary calls of a real gRPC-Go
//     client to a real server on a loopback TCP port.
//
//	go test -run '^$' -bench Peers -benchmem -count 6 ./grpclwa/
//
// TestInterceptorAllocs holds the allocations of the cached path.

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/lwatest"
)

const benchMethod = "/lwa.bench.Echo/Unary"

// peers are the interceptors compared, nil for the bare call.
type peers struct {
	lwaToken, jwtToken string
	lwa, jwt           grpc.UnaryServerInterceptor
}

// claimsKey is where the JWT peer keeps the verified claims.
type claimsKey struct{}

// newPeers builds a verifier against lwatest with a cached token, and an
// HS256 JWT check as go-grpc-middleware's documentation shows it: the
// bearer token from the metadata (auth.AuthFromMD), parsed and verified
// (signature, algorithm, audience, issuer, expiry), its claims put into the
// context.
func newPeers(tb testing.TB) *peers {
	tb.Helper()
	srv := lwatest.NewServer()
	tb.Cleanup(srv.Close)
	v, err := core.NewVerifier(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	p := &peers{lwaToken: srv.Token(core.Profile{Name: "Alice Example", Email: "alice@example.com", PostalCode: "98052"})}
	if _, err := v.Verify(context.Background(), p.lwaToken); err != nil {
		tb.Fatal(err)
	}
	p.lwa = grpclwa.UnaryServerInterceptor(v)

	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	p.jwtToken, err = jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "https://issuer.example", Subject: "amzn1.account.ALICE", Audience: jwt.ClaimStrings{"api.example"},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}).SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("api.example"),
		jwt.WithIssuer("https://issuer.example"), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	p.jwt = auth.UnaryServerInterceptor(func(ctx context.Context) (context.Context, error) {
		raw, err := auth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, err
		}
		claims := &jwt.RegisteredClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, keyFunc); err != nil {
			return nil, status.Error(codes.Unauthenticated, "invalid token")
		}
		return context.WithValue(ctx, claimsKey{}, claims), nil
	})
	return p
}

// incoming returns a context carrying tok as a call's incoming metadata, as
// gRPC-Go hands it to interceptors (with the usual request headers).
func incoming(tok string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.MD{
		":authority":    {"127.0.0.1:50051"},
		"content-type":  {"application/grpc"},
		"user-agent":    {"grpc-go/1.85.0"},
		"authorization": {"Bearer " + tok},
	})
}

// handlerOK is a handler that returns at once; it checks nothing so that
// the bare case measures the call alone.
func handlerOK(ctx context.Context, req any) (any, error) { return req, nil }

func BenchmarkPeers(b *testing.B) {
	p := newPeers(b)
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	req := &wrapperspb.StringValue{}

	b.Run("interceptor", func(b *testing.B) {
		for _, c := range []struct {
			name string
			ic   grpc.UnaryServerInterceptor
			tok  string
		}{
			{"bare", nil, p.lwaToken},
			{"grpclwa-cached", p.lwa, p.lwaToken},
			{"grpcauth-jwt-hs256", p.jwt, p.jwtToken},
		} {
			b.Run(c.name, func(b *testing.B) {
				ctx := incoming(c.tok)
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if c.ic == nil {
						_, err = handlerOK(ctx, req)
					} else {
						_, err = c.ic(ctx, req, info, handlerOK)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})

	b.Run("loopback", func(b *testing.B) {
		for _, c := range []struct {
			name string
			ic   grpc.UnaryServerInterceptor
			tok  string
		}{
			{"bare", nil, p.lwaToken},
			{"grpclwa-cached", p.lwa, p.lwaToken},
			{"grpcauth-jwt-hs256", p.jwt, p.jwtToken},
		} {
			b.Run(c.name, func(b *testing.B) {
				cc := benchServer(b, c.ic)
				ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+c.tok)
				out := &wrapperspb.StringValue{}
				b.ReportAllocs()
				for b.Loop() {
					if err := cc.Invoke(ctx, benchMethod, req, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// benchServer serves benchMethod behind ic (none when nil) on a loopback
// TCP port and returns a connected client; both stop when b ends.
func benchServer(b *testing.B, ic grpc.UnaryServerInterceptor) *grpc.ClientConn {
	var opts []grpc.ServerOption
	if ic != nil {
		opts = append(opts, grpc.UnaryInterceptor(ic))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "lwa.bench.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(s any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			if ic == nil {
				return handlerOK(ctx, in)
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: s, FullMethod: benchMethod}, handlerOK)
		}}},
	}, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	b.Cleanup(func() {
		srv.Stop()
		<-done
	})
	cc, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestInterceptorAllocs: a cached check adds two allocations to a call:
// the context that carries the credentials (core's, one allocation, as
// context.WithValue would be), and the copy of the authorization values
// that gRPC-Go's metadata.ValueFromIncomingContext returns (the only way
// to read incoming metadata without copying the whole map). grpclwa itself
// allocates nothing on this path.
func TestInterceptorAllocs(t *testing.T) {
	p := newPeers(t)
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	ctx := incoming(p.lwaToken)
	req := &wrapperspb.StringValue{}
	var got int
	handler := func(ctx context.Context, req any) (any, error) {
		if _, ok := grpclwa.Profile(ctx); ok {
			got++
		}
		return req, nil
	}
	bare := testing.AllocsPerRun(200, func() { _, _ = handler(ctx, req) })
	lwa := testing.AllocsPerRun(200, func() {
		if _, err := p.lwa(ctx, req, info, handler); err != nil {
			t.Fatal(err)
		}
	})
	if got == 0 {
		t.Fatal("the handler never saw a profile")
	}
	if extra := lwa - bare; extra > 2 {
		t.Errorf("a cached check adds %v allocations, want at most 2 (the credentials context, gRPC's metadata copy)", extra)
	}
	// Reading the metadata alone: the one allocation that is gRPC's.
	md := testing.AllocsPerRun(200, func() { _ = metadata.ValueFromIncomingContext(ctx, "authorization") })
	if md != 1 {
		t.Errorf("metadata.ValueFromIncomingContext allocates %v times, want 1", md)
	}
}
