package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server serves /demo.v1.Demo/Me (token required) and /demo.v1.Demo/Hello
// (token optional) behind connectlwa, over HTTP/1.1 and h2c.
func server(t *testing.T, opts ...core.Option) (*lwatest.Server, string) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, opts...)
	ic := connect.WithInterceptors(connectlwa.NewInterceptor(v, connectlwa.Config{
		Methods: map[string]core.Policy{"/demo.v1.Demo/Hello": {Optional: true}},
	}))
	answer := func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[structpb.Struct], error) {
		name := "stranger"
		if p, ok := connectlwa.Profile(ctx); ok {
			name = p.Name
		}
		s, err := structpb.NewStruct(map[string]any{"hello": name})
		if err != nil {
			return nil, err
		}
		return connect.NewResponse(s), nil
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/demo.v1.Demo/Me", "/demo.v1.Demo/Hello"} {
		mux.Handle(p, connect.NewUnaryHandler(p, answer, ic))
	}
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetHTTP1(true)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	ts.Start()
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// call runs the client with args and returns what it printed and its error.
func call(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut, nil)
	http.DefaultClient.CloseIdleConnections()
	return out.String(), errOut.String(), err
}

func TestClient(t *testing.T) {
	t.Setenv("LWA_TOKEN", "")
	srv, base := server(t, core.WithCircuitBreaker(1, time.Minute))
	tok := srv.Token(core.Profile{Name: "Ada"})
	revoked := srv.Token(core.Profile{Name: "Gone"})
	srv.Revoke(revoked)

	for _, protocol := range []string{"connect", "grpc-web", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			out, errOut, err := call(t, "-protocol", protocol, "-url", base+"/demo.v1.Demo/Me", "-token", tok)
			require.NoError(t, err, errOut)
			assert.JSONEq(t, `{"hello":"Ada"}`, out)

			out, errOut, err = call(t, "-protocol", protocol, "-url", base+"/demo.v1.Demo/Me")
			require.Error(t, err)
			assert.Empty(t, out)
			assert.Equal(t, "error: unauthenticated (reason invalid_request): the request carries no access token\n", errOut)

			_, errOut, err = call(t, "-protocol", protocol, "-url", base+"/demo.v1.Demo/Me", "-token", revoked)
			require.Error(t, err)
			assert.Equal(t, "error: unauthenticated (reason invalid_token): the access token is expired, revoked, malformed or unknown\n", errOut)
			assert.NotContains(t, errOut, "Atza")

			out, errOut, err = call(t, "-protocol", protocol, "-url", base+"/demo.v1.Demo/Hello")
			require.NoError(t, err, errOut)
			assert.JSONEq(t, `{"hello":"stranger"}`, out)
		})
	}

	t.Run("token from the environment", func(t *testing.T) {
		t.Setenv("LWA_TOKEN", tok)
		out, errOut, err := call(t, "-url", base+"/demo.v1.Demo/Me")
		require.NoError(t, err, errOut)
		assert.JSONEq(t, `{"hello":"Ada"}`, out)
	})
	t.Run("retry later", func(t *testing.T) {
		srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
		_, errOut, err := call(t, "-url", base+"/demo.v1.Demo/Me", "-token", srv.Token(core.Profile{Name: "B"}))
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(errOut, "error: unavailable (reason server_error): "), errOut)
		_, errOut, err = call(t, "-url", base+"/demo.v1.Demo/Me", "-token", srv.Token(core.Profile{Name: "C"}))
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(errOut, "error: unavailable (reason server_error) (retry in 1m0s): "), errOut)
	})
	t.Run("bad flags", func(t *testing.T) {
		_, _, err := call(t)
		assert.ErrorContains(t, err, "-url is required")
		_, _, err = call(t, "-url", base, "-protocol", "soap")
		assert.ErrorContains(t, err, "unknown -protocol")
	})
}
