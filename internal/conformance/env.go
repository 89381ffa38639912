package conformance

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

type atomicCounter = atomic.Int64

// env is one test's world: a fake LWA server, a verifier, an adapter's
// server and a client.
type env struct {
	a      Adapter
	srv    *lwatest.Server
	v      *core.Verifier
	url    string
	client *http.Client
	hits   atomicCounter
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

// newEnvWith serves another route with the verifier and fake of base.
func newEnvWith(t *testing.T, a Adapter, base *env, s Setup) *env {
	t.Helper()
	e := &env{a: a, srv: base.srv, v: base.v}
	s.Verifier = base.v
	e.serve(t, s)
	return e
}

// serve starts the adapter's server and a client for it.
func (e *env) serve(t *testing.T, s Setup) {
	s.hits = &e.hits
	e.url = e.a.Serve(t, s)
	require.True(t, strings.HasPrefix(e.url, "http://127.0.0.1:"), "Serve must listen on loopback, got %q", e.url)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	e.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
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

// rid returns the x-amzn-RequestId of the latest call endpoint ep received:
// the answer that decided the request just made.
func (e *env) rid(t *testing.T, ep lwatest.Endpoint) string {
	t.Helper()
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

// response is one answer of the adapter's server.
type response struct {
	status int
	header http.Header
	body   []byte
	ran    bool // the protected handler ran during the request
}

// seen decodes the protected handler's answer.
func (r response) seen(t *testing.T) seen {
	t.Helper()
	var s seen
	require.NoError(t, json.Unmarshal(r.body, &s), "body: %s", r.body)
	return s
}

// get sends GET Path?query with the header pairs kv (a name may repeat).
func (e *env) get(t *testing.T, query string, kv ...string) response {
	t.Helper()
	return e.do(t, http.MethodGet, query, kv...)
}

// do sends one request. It must not be used concurrently when r.ran matters.
func (e *env) do(t testing.TB, method, query string, kv ...string) response {
	t.Helper()
	u := e.url + Path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	before := e.hits.Load()
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: body, ran: e.hits.Load() != before}
}

// accept asserts that r passed through to the handler, which saw want
// through the adapter's getter, core.FromContext on the request's context
// and (where it is a context.Context) on the framework's context (nil: no
// profile).
func (e *env) accept(t *testing.T, r response, want *core.Profile) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.True(t, r.ran, "the handler must run")
	s := r.seen(t)
	assert.Equal(t, want, s.Adapter, "profile through the adapter's getter")
	assert.Equal(t, want, s.Context, "profile through core.FromContext")
	if e.a.FrameworkContext {
		assert.Equal(t, want, s.Framework, "profile through core.FromContext on the framework's context")
	}
}

// reject asserts that r is the documented rejection: status, code, a
// description, request_id equal to rid (absent when rid is ""), exact
// headers, a body byte-identical to core's, and the handler not run.
func (e *env) reject(t *testing.T, r response, status int, code, rid string) {
	t.Helper()
	assert.False(t, r.ran, "the handler must not run on a rejection")
	require.Equal(t, status, r.status, "body: %s", r.body)
	assert.Equal(t, []string{"application/json"}, r.header.Values("Content-Type"))
	assert.Equal(t, []string{"no-store"}, r.header.Values("Cache-Control"))

	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(r.body, &fields), "body: %s", r.body)
	keys := []string{"error", "error_description"}
	if rid != "" {
		keys = append(keys, "request_id")
	}
	got := make([]string, 0, len(fields))
	for k := range fields {
		got = append(got, k)
	}
	assert.ElementsMatch(t, keys, got, "body members: %s", r.body)
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		RequestID   string `json:"request_id"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body))
	assert.Equal(t, code, body.Error)
	assert.NotEmpty(t, body.Description)
	assert.Equal(t, rid, body.RequestID)

	want := &core.Error{Status: status, Code: code, Description: body.Description, RequestID: rid}
	wantBody := want.Body()
	if e.a.TrailingNewline {
		wantBody = append(wantBody, '\n')
	}
	assert.Equal(t, string(wantBody), string(r.body), "body must be core's rendering")
	if status == http.StatusBadRequest || status == http.StatusUnauthorized {
		assert.Equal(t, []string{want.WWWAuthenticate()}, r.header.Values("WWW-Authenticate"))
		assert.True(t, strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer error="`+code+`"`))
	} else {
		assert.Empty(t, r.header.Values("WWW-Authenticate"), "no challenge on %d", status)
	}
}

const auth = "Authorization"

func bearer(tok string) string { return "Bearer " + tok }
