package rpcconformance

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
	"github.com/go-lwa/lwa/lwatest"
)

// env is one test's world: a fake LWA server, a verifier, an adapter's
// server and a client of it.
type env struct {
	a      Adapter
	srv    *lwatest.Server
	v      *core.Verifier
	client Client
	hits   atomic.Int64
}

var quiet = slog.New(slog.DiscardHandler)

// newEnv starts a fake LWA server, a verifier (ClientID, the fake, opts) and
// the adapter's server configured by s.
func newEnv(t *testing.T, a Adapter, s Setup, opts ...core.Option) *env {
	t.Helper()
	e := &env{a: a, srv: lwatest.NewServer()}
	t.Cleanup(e.srv.Close)
	v, err := core.NewVerifier(append([]core.Option{
		core.WithClientID(ClientID), core.WithEndpoint(e.srv.URL), core.WithLogger(quiet),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	e.v = v
	s.Verifier = v
	e.serve(t, s)
	return e
}

// newEnvWith serves another configuration with the verifier and fake of
// base.
func newEnvWith(t *testing.T, a Adapter, base *env, s Setup) *env {
	t.Helper()
	e := &env{a: a, srv: base.srv, v: base.v}
	s.Verifier = base.v
	e.serve(t, s)
	return e
}

func (e *env) serve(t *testing.T, s Setup) {
	s.hits = &e.hits
	e.client = e.a.Serve(t, s)
	require.NotNil(t, e.client)
}

// issue mints a token of ClientID for a new customer.
func (e *env) issue(name string, opts ...lwatest.TokenOption) (string, core.Profile) {
	p := core.Profile{
		UserID:     "amzn1.account." + strings.ToUpper(name),
		Email:      name + "@example.com",
		Name:       name,
		PostalCode: "98109",
	}
	return e.srv.Issue(ClientID, p, opts...), p
}

// rid names where a rejection's request id comes from.
type rid int

const (
	noRID        rid = iota // none: decided without Amazon, or Amazon did not answer
	tokeninfoRID            // the latest tokeninfo answer's
	profileRID              // the latest profile answer's
)

// requestID returns the x-amzn-RequestId of the latest answer from where.
func (e *env) requestID(t *testing.T, where rid) string {
	t.Helper()
	ep := lwatest.EndpointTokenInfo
	switch where {
	case noRID:
		return ""
	case profileRID:
		ep = lwatest.EndpointProfile
	}
	calls := e.srv.Calls(ep)
	require.NotEmpty(t, calls, "no %v call", ep)
	id := calls[len(calls)-1].RequestID
	require.NotEmpty(t, id)
	return id
}

// noUpstream asserts that nothing was asked of the fake LWA server.
func (e *env) noUpstream(t *testing.T) {
	t.Helper()
	assert.Zero(t, e.srv.CallCount(lwatest.EndpointTokenInfo), "tokeninfo calls")
	assert.Zero(t, e.srv.CallCount(lwatest.EndpointProfile), "profile calls")
}

// calls asserts how many calls each endpoint received.
func (e *env) calls(t *testing.T, n int) {
	t.Helper()
	assert.Equal(t, n, e.srv.CallCount(lwatest.EndpointTokenInfo), "tokeninfo calls")
	assert.Equal(t, n, e.srv.CallCount(lwatest.EndpointProfile), "profile calls")
}

// call is one call's outcome, and whether a handler ran during it.
type call struct {
	Result
	method string
	ran    bool
}

// call makes one call. It must not be used concurrently when c.ran
// matters.
func (e *env) call(t testing.TB, method string, kv ...string) call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := e.hits.Load()
	r := e.client.Call(ctx, method, kv...)
	return call{Result: r, method: method, ran: e.hits.Load() != before}
}

func (e *env) unary(t testing.TB, kv ...string) call  { return e.call(t, UnaryMethod, kv...) }
func (e *env) stream(t testing.TB, kv ...string) call { return e.call(t, StreamMethod, kv...) }

// seen decodes the handler's answers.
func (c call) seen(t *testing.T) []seen {
	t.Helper()
	out := make([]seen, len(c.Replies))
	for i, r := range c.Replies {
		require.NoError(t, json.Unmarshal([]byte(r), &out[i]), "reply: %s", r)
	}
	return out
}

// accept asserts that c reached the handler, which saw want through the
// adapter's getter and core.FromContext (nil: no profile), in every
// message of a stream.
func (e *env) accept(t *testing.T, c call, want *core.Profile) []seen {
	t.Helper()
	require.Equal(t, codeOK, c.Code, "%s: status %d %q (%v)", c.method, c.Code, c.Message, c.Err)
	assert.True(t, c.ran, "%s: the handler must run", c.method)
	n := 1
	if c.method == StreamMethod {
		n = StreamReplies
	}
	require.Len(t, c.Replies, n, "%s: replies", c.method)
	s := c.seen(t)
	for i := range s {
		assert.Equal(t, want, s[i].Adapter, "%s reply %d: profile through the adapter's getter", c.method, i)
		assert.Equal(t, want, s[i].Context, "%s reply %d: profile through core.FromContext", c.method, i)
	}
	return s
}

// acceptBoth calls UnaryMethod and StreamMethod with kv, and asserts that
// both reach the handler with want.
func (e *env) acceptBoth(t *testing.T, want *core.Profile, kv ...string) {
	t.Helper()
	e.accept(t, e.unary(t, kv...), want)
	e.accept(t, e.stream(t, kv...), want)
}

// rejection is what a rejection must carry.
type rejection struct {
	code   uint32
	reason string        // the ErrorInfo reason: the LWA code
	rid    string        // the ErrorInfo's request_id, "" for none
	retry  time.Duration // the RetryInfo delay, 0 for no RetryInfo
}

// reject asserts that c is the documented rejection: its code, a message
// that carries no token, exactly an ErrorInfo (reason, domain, request id)
// and a RetryInfo when retry is set, the HTTP headers as metadata when the
// adapter sends them, and the handler not run.
func (e *env) reject(t *testing.T, c call, w rejection) {
	t.Helper()
	assert.False(t, c.ran, "%s: the handler must not run on a rejection", c.method)
	assert.Empty(t, c.Replies, "%s: no message on a rejection", c.method)
	require.Equal(t, w.code, c.Code, "%s: code; message %q", c.method, c.Message)
	require.Error(t, c.Err)
	assert.NotEmpty(t, c.Message, "%s: a status message", c.method)
	assert.NotContains(t, c.Message, "Atza", "%s: the message must not carry a token", c.method)

	var infos []*errdetails.ErrorInfo
	var retries []*errdetails.RetryInfo
	for _, d := range c.Details {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			infos = append(infos, d)
		case *errdetails.RetryInfo:
			retries = append(retries, d)
		default:
			t.Errorf("%s: unexpected detail %T", c.method, d)
		}
	}
	require.Len(t, infos, 1, "%s: one ErrorInfo detail, got %v", c.method, c.Details)
	assert.Equal(t, w.reason, infos[0].GetReason(), "%s: ErrorInfo reason", c.method)
	assert.Equal(t, rpckit.ErrorDomain, infos[0].GetDomain(), "%s: ErrorInfo domain", c.method)
	if w.rid == "" {
		assert.Empty(t, infos[0].GetMetadata(), "%s: ErrorInfo metadata", c.method)
	} else {
		assert.Equal(t, map[string]string{"request_id": w.rid}, infos[0].GetMetadata(), "%s: ErrorInfo metadata", c.method)
	}
	if w.retry > 0 {
		require.Len(t, retries, 1, "%s: one RetryInfo detail", c.method)
		assert.Equal(t, w.retry, retries[0].GetRetryDelay().AsDuration(), "%s: RetryInfo delay", c.method)
	} else {
		assert.Empty(t, retries, "%s: no RetryInfo", c.method)
	}
	if e.a.HTTPMeta {
		e.httpMeta(t, c, w)
	}
}

// httpMeta asserts the HTTP adapters' headers in a rejection's metadata.
func (e *env) httpMeta(t *testing.T, c call, w rejection) {
	t.Helper()
	assert.Equal(t, "no-store", c.Meta.Get("Cache-Control"), "%s: Cache-Control", c.method)
	challenge := c.Meta.Get("WWW-Authenticate")
	switch w.code {
	case codeUnauthenticated:
		assert.True(t, strings.HasPrefix(challenge, "Bearer"), "%s: an unauthenticated error's challenge, got %q", c.method, challenge)
	case codeInvalidArgument:
		assert.True(t, strings.HasPrefix(challenge, `Bearer error="invalid_request"`), "%s: challenge %q", c.method, challenge)
	case codePermissionDenied:
		assert.True(t, strings.HasPrefix(challenge, `Bearer error="insufficient_scope"`), "%s: challenge %q", c.method, challenge)
	default:
		assert.Empty(t, challenge, "%s: no challenge for code %d", c.method, w.code)
	}
	if w.retry > 0 {
		assert.Equal(t, strconv.Itoa(int(w.retry/time.Second)), c.Meta.Get("Retry-After"), "%s: Retry-After", c.method)
	} else {
		assert.Empty(t, c.Meta.Get("Retry-After"), "%s: no Retry-After", c.method)
	}
}

// rejectBoth calls UnaryMethod, then StreamMethod, with kv, and asserts
// that both are rejected as w says, with the request id read from where
// after each call.
func (e *env) rejectBoth(t *testing.T, w rejection, where rid, kv ...string) {
	t.Helper()
	for _, method := range []string{UnaryMethod, StreamMethod} {
		c := e.call(t, method, kv...)
		w.rid = e.requestID(t, where)
		e.reject(t, c, w)
	}
}

const auth = "authorization"
const amz = "x-amz-access-token"

func bearer(tok string) string { return "Bearer " + tok }
