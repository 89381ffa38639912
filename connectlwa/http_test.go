package connectlwa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
	"github.com/go-lwa/lwa/lwatest"
)

// TestCodesAgree: rpckit numbers its codes as Connect does.
func TestCodesAgree(t *testing.T) {
	for c, want := range map[rpckit.Code]connect.Code{
		rpckit.Canceled: connect.CodeCanceled, rpckit.Unknown: connect.CodeUnknown,
		rpckit.InvalidArgument: connect.CodeInvalidArgument, rpckit.DeadlineExceeded: connect.CodeDeadlineExceeded,
		rpckit.PermissionDenied: connect.CodePermissionDenied, rpckit.Internal: connect.CodeInternal,
		rpckit.Unavailable: connect.CodeUnavailable, rpckit.Unauthenticated: connect.CodeUnauthenticated,
	} {
		assert.Equal(t, want, connect.Code(c), "%s", want)
	}
}

// TestConstants: the exported constants are rpckit's.
func TestConstants(t *testing.T) {
	assert.Equal(t, rpckit.ErrorDomain, connectlwa.ErrorDomain)
	assert.Equal(t, rpckit.HealthService, connectlwa.HealthService)
}

// TestError: Error maps every row of the error table, carries the
// details, and unwraps to the *core.Error.
func TestError(t *testing.T) {
	for _, c := range []struct {
		err    error
		code   connect.Code
		reason string
		retry  time.Duration
	}{
		{core.ErrMissingToken, connect.CodeUnauthenticated, core.CodeInvalidRequest, 0},
		{core.ErrMalformedToken, connect.CodeInvalidArgument, core.CodeInvalidRequest, 0},
		{core.ErrInvalidToken, connect.CodeUnauthenticated, core.CodeInvalidToken, 0},
		{core.ErrNotOurToken, connect.CodeUnauthenticated, core.CodeNotFound, 0},
		{core.ErrInsufficientScope, connect.CodePermissionDenied, core.CodeInsufficientScope, 0},
		{core.ErrUpstream, connect.CodeUnavailable, core.CodeServerError, 0},
		{core.ErrUpstreamTimeout, connect.CodeDeadlineExceeded, core.CodeServerError, 0},
		{&core.Error{Status: 503, Code: core.CodeServerError, Description: "busy", RetryAfter: time.Second},
			connect.CodeUnavailable, core.CodeServerError, time.Second},
		{context.Canceled, connect.CodeCanceled, core.CodeServerError, 0}, // a context error, wrapped by core.AsError
		{errors.New("else"), connect.CodeInternal, core.CodeServerError, 0},
	} {
		t.Run(fmt.Sprint(c.err), func(t *testing.T) {
			ce := connectlwa.Error(c.err)
			require.NotNil(t, ce)
			assert.Equal(t, c.code, ce.Code())
			assert.NotEmpty(t, ce.Message())
			var reasons []string
			var retries []time.Duration
			for _, d := range ce.Details() {
				v, err := d.Value()
				require.NoError(t, err)
				switch v := v.(type) {
				case *errdetails.ErrorInfo:
					reasons = append(reasons, v.GetReason())
					assert.Equal(t, connectlwa.ErrorDomain, v.GetDomain())
				case *errdetails.RetryInfo:
					retries = append(retries, v.GetRetryDelay().AsDuration())
				}
			}
			assert.Equal(t, []string{c.reason}, reasons)
			if c.retry > 0 {
				assert.Equal(t, []time.Duration{c.retry}, retries)
			} else {
				assert.Empty(t, retries)
			}
			var e *core.Error
			require.ErrorAs(t, ce, &e)
			assert.Equal(t, e.Description, ce.Message())
			assert.Empty(t, ce.Meta(), "Error alone carries no headers")
		})
	}
	assert.Nil(t, connectlwa.Error(nil))
}

// connectEnv serves the suite's handlers behind NewInterceptor(v, cfg),
// plus a side-effect-free Get procedure (for Connect's GET requests),
// counting the calls that reach the interceptor (through a Skip that
// skips nothing) and the handlers.
type connectEnv struct {
	srv          *lwatest.Server
	v            *core.Verifier
	base         string
	client       *http.Client
	intercepted  atomic.Int64
	handled      atomic.Int64
	getProcedure string
}

func newConnectEnv(t *testing.T, cfg connectlwa.Config, opts ...core.Option) *connectEnv {
	t.Helper()
	e := &connectEnv{srv: lwatest.NewServer(), getProcedure: "/lwa.conformance.Probe/Get"}
	t.Cleanup(e.srv.Close)
	v, err := core.NewVerifier(append([]core.Option{core.WithClientID(lwatest.ClientID), core.WithEndpoint(e.srv.URL)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	e.v = v
	skip := cfg.Skip
	cfg.Skip = func(ctx context.Context, procedure string) bool {
		e.intercepted.Add(1)
		return skip != nil && skip(ctx, procedure)
	}
	ic := connect.WithInterceptors(connectlwa.NewInterceptor(v, cfg))
	reply := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		e.handled.Add(1)
		p, _ := connectlwa.Profile(ctx)
		return connect.NewResponse(wrapperspb.String("hello " + p.Name)), nil
	}
	mux := http.NewServeMux()
	mux.Handle("/lwa.conformance.Probe/Unary", connect.NewUnaryHandler("/lwa.conformance.Probe/Unary", reply, ic))
	mux.Handle(e.getProcedure, connect.NewUnaryHandler(e.getProcedure, reply, ic,
		connect.WithIdempotency(connect.IdempotencyNoSideEffects)))
	e.base = "http://" + listen(t, mux)
	e.client = httpClient(t, true)
	return e
}

// answer is an HTTP answer of a Connect handler.
type answer struct {
	status int
	header http.Header
	body   struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Type string `json:"type"`
		} `json:"details"`
	}
	raw string
}

// post sends a Connect unary request, JSON-encoded, as a browser's Connect
// client does.
func (e *connectEnv) post(t *testing.T, kv ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+"/lwa.conformance.Probe/Unary", strings.NewReader(`""`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	return e.do(t, req)
}

// get sends a Connect GET request with the extra query.
func (e *connectEnv) get(t *testing.T, query string, kv ...string) answer {
	t.Helper()
	u := e.base + e.getProcedure + "?connect=v1&encoding=json&message=" + url.QueryEscape(`""`)
	if query != "" {
		u += "&" + query
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	return e.do(t, req)
}

func (e *connectEnv) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if resp.StatusCode != http.StatusOK && len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &a.body), "body %s", b)
	}
	return a
}

// TestConnectProtocolHTTP: what a browser's Connect client (or curl) sees
// of each row over plain HTTP/1.1: the Connect protocol's status for the
// code, the HTTP adapters' headers, and a JSON error body with the code
// and the ErrorInfo detail.
func TestConnectProtocolHTTP(t *testing.T) {
	e := newConnectEnv(t, connectlwa.Config{}, core.WithCircuitBreaker(1, time.Minute))
	tok := e.srv.Token(core.Profile{UserID: "amzn1.account.ADA", Name: "Ada"})
	revoked := e.srv.Token(core.Profile{UserID: "amzn1.account.GONE"})
	e.srv.Revoke(revoked)
	noScope := e.srv.Issue(lwatest.ClientID, core.Profile{UserID: "amzn1.account.NS"}, lwatest.WithScopes())

	ok := e.post(t, "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
	assert.Equal(t, `"hello Ada"`, ok.raw)

	for _, c := range []struct {
		name      string
		kv        []string
		status    int
		code      string
		challenge string
	}{
		{"no token", nil, 401, "unauthenticated", `Bearer error="invalid_request"`},
		{"two tokens", []string{"Authorization", "Bearer " + tok, "X-Amz-Access-Token", revoked}, 400, "invalid_argument", `Bearer error="invalid_request"`},
		{"revoked", []string{"Authorization", "Bearer " + revoked}, 401, "unauthenticated", `Bearer error="invalid_token"`},
		{"insufficient scope", []string{"Authorization", "Bearer " + noScope}, 403, "permission_denied", `Bearer error="insufficient_scope"`},
		{"another app's", []string{"Authorization", "Bearer " + e.srv.Issue("amzn1.application-oa2-client.other", core.Profile{UserID: "amzn1.account.X"})},
			401, "unauthenticated", "Bearer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := e.post(t, c.kv...)
			assert.Equal(t, c.status, a.status, a.raw)
			assert.Equal(t, c.code, a.body.Code)
			assert.NotEmpty(t, a.body.Message)
			require.NotEmpty(t, a.body.Details, a.raw)
			assert.Equal(t, "google.rpc.ErrorInfo", a.body.Details[0].Type)
			assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
			assert.True(t, strings.HasPrefix(a.header.Get("WWW-Authenticate"), c.challenge), "challenge %q", a.header.Get("WWW-Authenticate"))
			assert.NotContains(t, a.raw, "Atza")
		})
	}
	t.Run("upstream failing, then breaker open", func(t *testing.T) {
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
		a := e.post(t, "Authorization", "Bearer "+e.srv.Token(core.Profile{UserID: "amzn1.account.B1"}))
		assert.Equal(t, http.StatusServiceUnavailable, a.status)
		assert.Equal(t, "unavailable", a.body.Code)
		assert.Empty(t, a.header.Get("Retry-After"))
		assert.Empty(t, a.header.Get("WWW-Authenticate"))
		a = e.post(t, "Authorization", "Bearer "+e.srv.Token(core.Profile{UserID: "amzn1.account.B2"}))
		assert.Equal(t, http.StatusServiceUnavailable, a.status)
		assert.Equal(t, "60", a.header.Get("Retry-After"))
		types := []string{}
		for _, d := range a.body.Details {
			types = append(types, d.Type)
		}
		assert.Equal(t, []string{"google.rpc.ErrorInfo", "google.rpc.RetryInfo"}, types)
	})
	assert.Equal(t, int64(1), e.handled.Load(), "only the valid token reached the handler")
}

// TestQueryToken: the Connect protocol's GET requests may carry the token
// in the access_token query parameter, under the verifier's rules.
func TestQueryToken(t *testing.T) {
	e := newConnectEnv(t, connectlwa.Config{})
	tok := e.srv.Token(core.Profile{UserID: "amzn1.account.ADA", Name: "Ada"})
	other := e.srv.Token(core.Profile{UserID: "amzn1.account.BO", Name: "Bo"})
	a := e.get(t, "access_token="+url.QueryEscape(tok))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, `"hello Ada"`, a.raw)
	a = e.get(t, "access_token="+url.QueryEscape(tok), "Authorization", "Bearer "+tok)
	assert.Equal(t, http.StatusOK, a.status, a.raw)
	a = e.get(t, "access_token="+url.QueryEscape(other), "Authorization", "Bearer "+tok)
	assert.Equal(t, http.StatusBadRequest, a.status, a.raw)
	assert.Equal(t, "invalid_argument", a.body.Code)

	off := newConnectEnv(t, connectlwa.Config{}, core.WithQueryToken(false))
	tok = off.srv.Token(core.Profile{UserID: "amzn1.account.ADA", Name: "Ada"})
	a = off.get(t, "access_token="+url.QueryEscape(tok))
	assert.Equal(t, http.StatusUnauthorized, a.status, a.raw)
	assert.Equal(t, "unauthenticated", a.body.Code)
	assert.Zero(t, off.srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestPreflightNeverIntercepted: Connect answers a CORS preflight (or any
// method it does not serve) with 405 before interceptors run: the
// interceptor never sees it, and nothing reaches the handler.
func TestPreflightNeverIntercepted(t *testing.T) {
	e := newConnectEnv(t, connectlwa.Config{})
	for _, path := range []string{"/lwa.conformance.Probe/Unary", e.getProcedure} {
		req, err := http.NewRequest(http.MethodOptions, e.base+path, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		a := e.do(t, req)
		assert.Equal(t, http.StatusMethodNotAllowed, a.status)
		assert.NotEmpty(t, a.header.Get("Allow"))
	}
	assert.Zero(t, e.intercepted.Load(), "the interceptor never saw a preflight")
	assert.Zero(t, e.handled.Load())
	// A real call does reach it.
	e.post(t)
	assert.Equal(t, int64(1), e.intercepted.Load())
}

// TestClientSide: on a client, the interceptor does nothing.
func TestClientSide(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	var handled atomic.Int64
	unary := func(context.Context, *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		handled.Add(1)
		return connect.NewResponse(wrapperspb.String("ok")), nil
	}
	stream := func(_ context.Context, _ *connect.Request[wrapperspb.StringValue], out *connect.ServerStream[wrapperspb.StringValue]) error {
		handled.Add(1)
		return out.Send(wrapperspb.String("ok"))
	}
	mux := http.NewServeMux()
	mux.Handle("/x.Y/U", connect.NewUnaryHandler("/x.Y/U", unary))
	mux.Handle("/x.Y/S", connect.NewServerStreamHandler("/x.Y/S", stream))
	base := "http://" + listen(t, mux)
	ic := connect.WithInterceptors(connectlwa.NewInterceptor(v))
	hc := httpClient(t, false)
	u := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+"/x.Y/U", ic)
	res, err := u.CallUnary(context.Background(), connect.NewRequest(&wrapperspb.StringValue{}))
	require.NoError(t, err)
	assert.Equal(t, "ok", res.Msg.GetValue())
	s := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+"/x.Y/S", ic)
	st, err := s.CallServerStream(context.Background(), connect.NewRequest(&wrapperspb.StringValue{}))
	require.NoError(t, err)
	require.True(t, st.Receive(), "%v", st.Err())
	require.NoError(t, st.Close())
	assert.Equal(t, int64(2), handled.Load())
	assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestOneLiners: Optional, NeedFields and OnlyClients on their own
// handlers, sharing one verifier.
func TestOneLiners(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	const tv = "amzn1.application-oa2-client.tv"
	reply := func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
		p, ok := connectlwa.Profile(ctx)
		return connect.NewResponse(wrapperspb.String(fmt.Sprint(ok, " ", p.Name))), nil
	}
	mux := http.NewServeMux()
	for path, ic := range map[string]connect.Interceptor{
		"/x.Y/Optional":   connectlwa.Optional(v),
		"/x.Y/Postal":     connectlwa.NeedFields(v, core.FieldPostalCode),
		"/x.Y/OnlyClient": connectlwa.OnlyClients(v, tv),
	} {
		mux.Handle(path, connect.NewUnaryHandler(path, reply, connect.WithInterceptors(ic)))
	}
	base := "http://" + listen(t, mux)
	hc := httpClient(t, false)
	call := func(path, tok string) (string, connect.Code) {
		c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, base+path)
		req := connect.NewRequest(&wrapperspb.StringValue{})
		if tok != "" {
			req.Header().Set("Authorization", "Bearer "+tok)
		}
		res, err := c.CallUnary(context.Background(), req)
		if err != nil {
			return "", connect.CodeOf(err)
		}
		return res.Msg.GetValue(), 0
	}
	ada := srv.Token(core.Profile{UserID: "amzn1.account.ADA", Name: "Ada", PostalCode: "98109"})
	bo := srv.Issue(lwatest.ClientID, core.Profile{UserID: "amzn1.account.BO", Name: "Bo"}, lwatest.WithScopes("profile"))
	got, code := call("/x.Y/Optional", "")
	assert.Equal(t, "false ", got)
	assert.Zero(t, code)
	got, _ = call("/x.Y/Optional", ada)
	assert.Equal(t, "true Ada", got)
	got, _ = call("/x.Y/Postal", ada)
	assert.Equal(t, "true Ada", got)
	_, code = call("/x.Y/Postal", bo)
	assert.Equal(t, connect.CodePermissionDenied, code)
	_, code = call("/x.Y/OnlyClient", ada)
	assert.Equal(t, connect.CodeUnauthenticated, code)
}

// TestConstructorsPanic: a nil verifier or two Configs panic, naming the
// function.
func TestConstructorsPanic(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	const msg = "connectlwa.NewInterceptor: want a non-nil *core.Verifier and at most one Config"
	assert.PanicsWithValue(t, msg, func() { connectlwa.NewInterceptor(nil) })
	assert.PanicsWithValue(t, msg, func() { connectlwa.NewInterceptor(v, connectlwa.Config{}, connectlwa.Config{}) })
	assert.PanicsWithValue(t, msg, func() { connectlwa.Optional(nil) })
}
