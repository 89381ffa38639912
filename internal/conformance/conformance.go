// Package conformance is the one test suite that every adapter of this
// module (ginlwa, echolwa, echov5lwa, fiberlwa, fiberv3lwa, stdlwa) passes,
// on a real loopback server, against the fake LWA server of package lwatest.
//
// An adapter's test describes how to serve a protected route (Adapter) and
// calls Run. The suite covers every row of the error table, every token
// extraction rule, optional credentials, skipping, custom error handlers,
// CORS preflights, concurrency without cross-talk, caching, and Require's
// configuration from options and the environment.
package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Path is the route an Adapter protects. It must answer every method.
const Path = "/p"

// SkipHeader marks requests that the adapter's skip function (installed
// when Setup.Skip is set) must skip.
const SkipHeader = "X-Lwa-Skip"

// ClientID is the client ID the suite's verifiers accept.
const ClientID = "amzn1.application-oa2-client.conformance"

// otherClientID is another LWA app, whose tokens must be refused.
const otherClientID = "amzn1.application-oa2-client.someone-else"

// Adapter describes one adapter to the suite.
type Adapter struct {
	// Name is the adapter's package name, as its panics start with it.
	Name string

	// Serve starts a real server listening on 127.0.0.1 whose route Path,
	// for every method, is protected by the adapter's middleware as s
	// describes, and whose handler answers 200 with s.Reply. It returns the
	// base URL ("http://127.0.0.1:PORT") and shuts the server down in a
	// t.Cleanup.
	Serve func(t testing.TB, s Setup) string

	// Require calls the adapter's Require(opts...) and discards the
	// middleware.
	Require func(opts ...core.Option)

	// TrailingNewline says that the adapter's rejection bodies are core's
	// body followed by "\n" (Echo's HTTPErrorHandler, v4 and v5, encodes with
	// json.Encoder); every other byte must be the same.
	TrailingNewline bool
}

// Setup is what Adapter.Serve builds.
type Setup struct {
	// Verifier is the verifier to pass to New. When nil, Serve builds the
	// middleware with Require(Options...) instead, and ignores the other
	// knobs.
	Verifier *core.Verifier
	// Options are Require's options when Verifier is nil.
	Options []core.Option
	// Policy is the Config's core.Policy.
	Policy core.Policy
	// Skip asks for a skip function (Skip, Skipper, Next) that skips the
	// requests carrying a SkipHeader header.
	Skip bool
	// OnError, when set, asks for a custom error handler that calls OnError
	// with the *core.Error it received (nil if it received another error)
	// and answers with the status and a text/plain body OnError returns.
	// When the status is 0 the handler writes nothing at all and returns
	// without an error (nil in Echo and Fiber).
	OnError func(e *core.Error) (status int, body string)

	hits *atomic.Int64
}

// seen is the protected handler's answer: the profile as the adapter's
// getter and core.FromContext gave it.
type seen struct {
	Adapter *core.Profile   `json:"adapter"`
	Context *core.Profile   `json:"context"`
	Info    *core.TokenInfo `json:"info"`
}

// Reply is the protected handler: it counts the call and returns the JSON
// body to answer with, from the profile the adapter's Profile getter gave
// (p, ok) and the request's context.Context.
func (s Setup) Reply(ctx context.Context, p core.Profile, ok bool) []byte {
	if s.hits != nil {
		s.hits.Add(1)
	}
	var out seen
	if ok {
		out.Adapter = &p
	}
	if cp, ok := core.FromContext(ctx); ok {
		out.Context = &cp
	}
	if info, ok := core.TokenInfoFromContext(ctx); ok {
		out.Info = &info
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return b
}

// env is one test's world: a fake LWA server, a verifier, an adapter's
// server and a client.
type env struct {
	a      Adapter
	srv    *lwatest.Server
	v      *core.Verifier
	url    string
	client *http.Client
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
// through both the adapter's getter and core.FromContext (nil: no profile).
func (e *env) accept(t *testing.T, r response, want *core.Profile) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.True(t, r.ran, "the handler must run")
	var s seen
	require.NoError(t, json.Unmarshal(r.body, &s), "body: %s", r.body)
	assert.Equal(t, want, s.Adapter, "profile through the adapter's getter")
	assert.Equal(t, want, s.Context, "profile through core.FromContext")
}

// reject asserts that r is the documented rejection: status, code, a
// description, request_id equal to rid (absent when rid is ""), exact
// headers, a body byte-identical to core's, and the handler not run.
func (e *env) reject(t *testing.T, r response, status int, code, rid string) {
	t.Helper()
	assert.False(t, r.ran, "the handler must not run on a rejection")
	require.Equal(t, status, r.status, "body: %s", r.body)
	assert.Equal(t, []string{core.ContentTypeJSON}, r.header.Values("Content-Type"))
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

// Run runs the whole suite against a.
func Run(t *testing.T, a Adapter) {
	require.NotNil(t, a.Serve)
	require.NotNil(t, a.Require)
	t.Run("ErrorTable", func(t *testing.T) { testErrorTable(t, a) })
	t.Run("Extraction", func(t *testing.T) { testExtraction(t, a) })
	t.Run("QueryTokenOff", func(t *testing.T) { testQueryTokenOff(t, a) })
	t.Run("Optional", func(t *testing.T) { testOptional(t, a) })
	t.Run("Skip", func(t *testing.T) { testSkip(t, a) })
	t.Run("CustomErrorHandler", func(t *testing.T) { testCustomErrorHandler(t, a) })
	t.Run("Preflight", func(t *testing.T) { testPreflight(t, a) })
	t.Run("ErrorHandlerGuards", func(t *testing.T) { testErrorHandlerGuards(t, a) })
	t.Run("Unavailable", func(t *testing.T) { testUnavailable(t, a) })
	t.Run("TokenSources", func(t *testing.T) { testTokenSources(t, a) })
	t.Run("RFC6750", func(t *testing.T) { testRFC6750(t, a) })
	t.Run("RouteRequirements", func(t *testing.T) { testRouteRequirements(t, a) })
	t.Run("TokenInfo", func(t *testing.T) { testTokenInfo(t, a) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, a) })
	t.Run("Cache", func(t *testing.T) { testCache(t, a) })
	t.Run("RequirePanics", func(t *testing.T) { testRequirePanics(t, a) })
	t.Run("RequireFromEnv", func(t *testing.T) { testRequireFromEnv(t, a) })
}

const auth = "Authorization"

func bearer(tok string) string { return "Bearer " + tok }

func testErrorTable(t *testing.T, a Adapter) {
	t.Run("no token", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
		e.noUpstream(t)
	})
	t.Run("two different tokens", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		t1, _ := e.issue("one")
		t2, _ := e.issue("two")
		e.reject(t, e.get(t, "", auth, bearer(t1), core.HeaderAmzAccessToken, t2), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "access_token="+url.QueryEscape(t2), auth, bearer(t1)), 400, core.CodeInvalidRequest, "")
		e.noUpstream(t)
	})
	t.Run("malformed", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		for name, send := range map[string]func() response{
			"space":         func() response { return e.get(t, "", core.HeaderAmzAccessToken, "Atza|abc def") },
			"control char":  func() response { return e.get(t, "access_token=Atza%7Cab%01cd") },
			"encoded space": func() response { return e.get(t, "", auth, bearer("Atza%7Cab%20cd")) },
			"non-ASCII":     func() response { return e.get(t, "", core.HeaderAmzAccessToken, "Atza|caf\xc3\xa9") },
			"bad escape":    func() response { return e.get(t, "", auth, bearer("Atza%ZZabc")) },
			"oversized":     func() response { return e.get(t, "", auth, bearer("Atza|"+strings.Repeat("a", core.MaxTokenLen-4))) },
		} {
			t.Run(name, func(t *testing.T) { e.reject(t, send(), 400, core.CodeInvalidRequest, "") })
		}
		e.noUpstream(t)
	})
	t.Run("revoked", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("revoked")
		e.srv.Revoke(tok)
		e.reject(t, e.get(t, "", auth, bearer(tok)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("expired")
		e.srv.Expire(tok)
		e.reject(t, e.get(t, "", auth, bearer(tok)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("insufficient scope", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("noscope", lwatest.WithScopes())
		e.reject(t, e.get(t, "", auth, bearer(tok)), 401, core.CodeInsufficientScope, e.rid(t, lwatest.EndpointProfile))
	})
	t.Run("required field missing", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithRequiredFields(core.FieldPostalCode))
		tok, _ := e.issue("nopostal", lwatest.WithScopes("profile"))
		e.reject(t, e.get(t, "", auth, bearer(tok)), 401, core.CodeInsufficientScope, e.rid(t, lwatest.EndpointProfile))
		withPostal, p := e.issue("postal")
		e.accept(t, e.get(t, "", auth, bearer(withPostal)), &p)
	})
	t.Run("other app's token", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 404, core.CodeNotFound, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("upstream 500", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("down")
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 502, core.CodeServerError, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("upstream not JSON", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("html")
		e.srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: "<html>oops</html>", ContentType: "text/html"})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 502, core.CodeServerError, e.rid(t, lwatest.EndpointProfile))
	})
	t.Run("upstream hangs", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTimeout(100*time.Millisecond))
		tok, p := e.issue("hang")
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 504, core.CodeServerError, "")
		// Not cached: once Amazon answers again, the token passes.
		e.srv.Recover()
		e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	})
}

func testExtraction(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	tok, p := e.issue("alice")
	other, _ := e.issue("bob")
	encoded := strings.Replace(tok, "|", "%7C", 1)
	require.NotEqual(t, tok, encoded)
	q := "access_token=" + url.QueryEscape(tok)

	for _, c := range []struct {
		name  string
		query string
		kv    []string
	}{
		{"Bearer", "", []string{auth, "Bearer " + tok}},
		{"bearer lower case", "", []string{auth, "bearer " + tok}},
		{"BEARER upper case", "", []string{auth, "BEARER " + tok}},
		{"extra spaces", "", []string{auth, "Bearer    " + tok + "   "}},
		{"x-amz-access-token", "", []string{core.HeaderAmzAccessToken, tok}},
		{"query", q, nil},
		{"percent-encoded Authorization", "", []string{auth, bearer(encoded)}},
		{"percent-encoded x-amz-access-token", "", []string{core.HeaderAmzAccessToken, encoded}},
		{"percent-encoded query", "access_token=" + url.QueryEscape(encoded), nil},
		{"same token in three places", q, []string{auth, bearer(tok), core.HeaderAmzAccessToken, encoded}},
		{"unrelated query", "x=1&" + q + "&y=2", nil},
	} {
		t.Run(c.name, func(t *testing.T) { e.accept(t, e.get(t, c.query, c.kv...), &p) })
	}
	for _, c := range []struct {
		name  string
		query string
		kv    []string
	}{
		{"Bearer alone", "", []string{auth, "Bearer"}},
		{"Bearer and spaces", "", []string{auth, "Bearer    "}},
		{"Bearer a b", "", []string{auth, "Bearer a b"}},
		{"other scheme", "", []string{auth, "Basic " + tok}},
		{"token without scheme", "", []string{auth, tok}},
		{"two Authorization headers", "", []string{auth, bearer(tok), auth, bearer(tok)}},
		{"different header and query", "access_token=" + url.QueryEscape(other), []string{auth, bearer(tok)}},
		{"different headers", "", []string{core.HeaderAmzAccessToken, other, auth, bearer(tok)}},
		{"two different query values", q + "&access_token=" + url.QueryEscape(other), nil},
	} {
		t.Run(c.name, func(t *testing.T) { e.reject(t, e.get(t, c.query, c.kv...), 400, core.CodeInvalidRequest, "") })
	}
	e.calls(t, 1) // one verification of tok served every accepted request
}

func testQueryTokenOff(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{}, core.WithQueryToken(false))
	tok, p := e.issue("alice")
	other, _ := e.issue("bob")
	e.reject(t, e.get(t, "access_token="+url.QueryEscape(tok)), 400, core.CodeInvalidRequest, "")
	e.noUpstream(t)
	e.accept(t, e.get(t, "access_token="+url.QueryEscape(other), auth, bearer(tok)), &p)
}

func testOptional(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{Policy: core.Policy{Optional: true}})
	tok, p := e.issue("alice")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)

	e.accept(t, e.get(t, ""), nil)
	e.noUpstream(t)
	e.reject(t, e.get(t, "", auth, "Bearer"), 400, core.CodeInvalidRequest, "")
	e.reject(t, e.get(t, "", auth, bearer("Atza|a b")), 400, core.CodeInvalidRequest, "")
	e.noUpstream(t)
	e.reject(t, e.get(t, "", auth, bearer(revoked)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
}

func testSkip(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{Skip: true})
	tok, p := e.issue("alice")
	e.accept(t, e.get(t, "", SkipHeader, "1"), nil)
	e.accept(t, e.get(t, "", SkipHeader, "1", auth, bearer(tok)), nil) // skipped: not even verified
	e.accept(t, e.get(t, "", SkipHeader, "1", auth, "Bearer"), nil)
	e.noUpstream(t)
	e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
}

func testCustomErrorHandler(t *testing.T, a Adapter) {
	var mu sync.Mutex
	var got []*core.Error
	e := newEnv(t, a, Setup{OnError: func(ce *core.Error) (int, string) {
		mu.Lock()
		got = append(got, ce)
		mu.Unlock()
		if ce == nil {
			return http.StatusInternalServerError, "not a *core.Error"
		}
		return http.StatusTeapot, "custom " + ce.Code
	}})
	tok, p := e.issue("alice")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)

	check := func(r response, code string) *core.Error {
		t.Helper()
		assert.False(t, r.ran, "the handler must not run on a rejection")
		assert.Equal(t, http.StatusTeapot, r.status)
		assert.Equal(t, "custom "+code, string(r.body))
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 1)
		ce := got[0]
		got = nil
		return ce
	}
	ce := check(e.get(t, ""), core.CodeInvalidRequest)
	assert.Equal(t, 400, ce.Status)
	assert.ErrorIs(t, ce, core.ErrMissingToken)
	assert.Empty(t, ce.RequestID)

	ce = check(e.get(t, "", auth, bearer(revoked)), core.CodeInvalidToken)
	assert.Equal(t, 400, ce.Status)
	assert.ErrorIs(t, ce, core.ErrInvalidToken)
	assert.Equal(t, e.rid(t, lwatest.EndpointTokenInfo), ce.RequestID)

	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	mu.Lock()
	assert.Empty(t, got, "no error handler call for an accepted request")
	mu.Unlock()
}

func testPreflight(t *testing.T, a Adapter) {
	const acrm = "Access-Control-Request-Method"
	// preflight asserts the middleware's own answer to a preflight: a bare
	// 204, the protected handler not run, nothing asked of Amazon.
	preflight := func(t *testing.T, r response) {
		t.Helper()
		assert.Equal(t, http.StatusNoContent, r.status)
		assert.False(t, r.ran, "a preflight must not reach the protected handler")
		assert.Empty(t, r.body)
		assert.Empty(t, r.header.Get("WWW-Authenticate"))
	}
	t.Run("default", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		preflight(t, e.do(t, http.MethodOptions, "", acrm, "GET", "Origin", "https://app.example"))
		preflight(t, e.do(t, http.MethodOptions, "", acrm, "DELETE", auth, "Bearer")) // not even read
		e.noUpstream(t)
		e.reject(t, e.do(t, http.MethodOptions, ""), 400, core.CodeInvalidRequest, "") // not a preflight
		e.reject(t, e.do(t, http.MethodGet, "", acrm, "GET"), 400, core.CodeInvalidRequest, "")
	})
	t.Run("custom error handler not called", func(t *testing.T) {
		var calls atomic.Int32
		e := newEnv(t, a, Setup{OnError: func(*core.Error) (int, string) {
			calls.Add(1)
			return http.StatusTeapot, "custom"
		}})
		preflight(t, e.do(t, http.MethodOptions, "", acrm, "GET"))
		assert.Zero(t, calls.Load())
	})
	t.Run("PassPreflight", func(t *testing.T) {
		e := newEnv(t, a, Setup{Policy: core.Policy{PassPreflight: true}})
		tok, _ := e.issue("alice")
		e.accept(t, e.do(t, http.MethodOptions, "", acrm, "GET"), nil)
		e.accept(t, e.do(t, http.MethodOptions, "", acrm, "GET", auth, bearer(tok)), nil) // not even read
		e.noUpstream(t)
		e.reject(t, e.do(t, http.MethodOptions, ""), 400, core.CodeInvalidRequest, "")
	})
	t.Run("CheckPreflight", func(t *testing.T) {
		e := newEnv(t, a, Setup{Policy: core.Policy{CheckPreflight: true}})
		tok, p := e.issue("alice")
		e.reject(t, e.do(t, http.MethodOptions, "", acrm, "GET"), 400, core.CodeInvalidRequest, "")
		e.accept(t, e.do(t, http.MethodOptions, "", acrm, "GET", auth, bearer(tok)), &p)
	})
}

// testErrorHandlerGuards: a custom error handler can neither let the request
// through nor turn the rejection into a success.
func testErrorHandlerGuards(t *testing.T, a Adapter) {
	t.Run("writes nothing", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) (int, string) { return 0, "" }})
		e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
		revoked, _ := e.issue("gone")
		e.srv.Revoke(revoked)
		e.reject(t, e.get(t, "", auth, bearer(revoked)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("writes a success", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) (int, string) { return http.StatusOK, "all good" }})
		r := e.get(t, "")
		assert.False(t, r.ran, "the handler must not run on a rejection")
		assert.Equal(t, http.StatusBadRequest, r.status, "a rejection never becomes a 2xx")
		r = e.get(t, "", auth, bearer("Atza|not-a-real-token"))
		assert.False(t, r.ran)
		assert.Equal(t, http.StatusBadRequest, r.status)
	})
	t.Run("redirects", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) (int, string) { return http.StatusSeeOther, "to login" }})
		r := e.get(t, "")
		assert.False(t, r.ran)
		assert.Equal(t, http.StatusSeeOther, r.status, "a 3xx (to a login page) is the app's choice")
	})
}

func testConcurrency(t *testing.T, a Adapter) {
	const users, perUser = 40, 5
	e := newEnv(t, a, Setup{})
	toks := make([]string, users)
	profiles := make([]core.Profile, users)
	for i := range users {
		// Tokens of different lengths, so that reused buffers would show.
		toks[i], profiles[i] = e.issue(fmt.Sprintf("user%02d", i),
			lwatest.WithToken(fmt.Sprintf("Atza|u%02d-%s", i, strings.Repeat("x", 350+7*i))))
	}
	type result struct {
		status int
		seen   seen
		err    error
	}
	results := make([][perUser]result, users)
	var wg sync.WaitGroup
	for i := range users {
		for j := range perUser {
			wg.Go(func() {
				var query string
				var kv []string
				switch (i + j) % 3 {
				case 0:
					kv = []string{auth, bearer(toks[i])}
				case 1:
					kv = []string{core.HeaderAmzAccessToken, toks[i]}
				default:
					query = "access_token=" + url.QueryEscape(toks[i])
				}
				r := &results[i][j]
				req, err := http.NewRequest(http.MethodGet, e.url+Path+"?"+query, nil)
				if err != nil {
					r.err = err
					return
				}
				for k := 0; k < len(kv); k += 2 {
					req.Header.Set(kv[k], kv[k+1])
				}
				resp, err := e.client.Do(req)
				if err != nil {
					r.err = err
					return
				}
				defer resp.Body.Close()
				r.status = resp.StatusCode
				r.err = json.NewDecoder(resp.Body).Decode(&r.seen)
			})
		}
	}
	wg.Wait()
	for i := range users {
		for j := range perUser {
			r := results[i][j]
			require.NoError(t, r.err, "user %d request %d", i, j)
			require.Equal(t, http.StatusOK, r.status, "user %d request %d", i, j)
			assert.Equal(t, &profiles[i], r.seen.Adapter, "user %d request %d: adapter getter", i, j)
			assert.Equal(t, &profiles[i], r.seen.Context, "user %d request %d: core.FromContext", i, j)
		}
	}
	assert.Equal(t, int64(users*perUser), e.hits.Load())
	e.calls(t, users) // coalesced and cached: one verification per token
}

func testCache(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	tok, p := e.issue("alice")
	for i := range 12 {
		switch i % 3 {
		case 0:
			e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
		case 1:
			e.accept(t, e.get(t, "", core.HeaderAmzAccessToken, tok), &p)
		default:
			e.accept(t, e.get(t, "access_token="+url.QueryEscape(tok)), &p)
		}
	}
	e.calls(t, 1)
	// A second customer is verified once too.
	tok2, p2 := e.issue("bob")
	for range 3 {
		e.accept(t, e.get(t, "", auth, bearer(tok2)), &p2)
	}
	e.calls(t, 2)
}

// panicMessage returns what f panicked with, as a string ("" if it did not).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if msg == "" {
				msg = "(empty panic)"
			}
		}
	}()
	f()
	return ""
}

func testRequirePanics(t *testing.T, a Adapter) {
	t.Setenv(core.EnvClientID, "")
	t.Setenv(core.EnvEndpoint, "")

	msg := panicMessage(func() { a.Require() })
	require.NotEmpty(t, msg, "Require without a client ID must panic")
	assert.True(t, strings.HasPrefix(msg, a.Name), "panic message %q should name the package", msg)
	assert.Contains(t, msg, core.EnvClientID)

	msg = panicMessage(func() { a.Require(core.WithClientID(ClientID), core.WithEndpoint("ftp://api.amazon.com")) })
	require.NotEmpty(t, msg, "Require with an invalid endpoint must panic")
	assert.Contains(t, msg, "endpoint")

	msg = panicMessage(func() { a.Require(core.WithClientID(ClientID), core.WithTimeout(-time.Second)) })
	require.NotEmpty(t, msg, "Require with a negative timeout must panic")
	assert.Contains(t, msg, "timeout")
}

func testRequireFromEnv(t *testing.T, a Adapter) {
	e := &env{a: a, srv: lwatest.NewServer()}
	t.Cleanup(e.srv.Close)
	t.Setenv(core.EnvClientID, "amzn1.application-oa2-client.unused, "+ClientID)
	t.Setenv(core.EnvEndpoint, e.srv.URL)
	e.serve(t, Setup{}) // Require() with no options

	tok, p := e.issue("alice")
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	e.calls(t, 1)
	other := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"})
	e.reject(t, e.get(t, "", auth, bearer(other)), 404, core.CodeNotFound, e.rid(t, lwatest.EndpointTokenInfo))
	e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
}

// FasthttpLeakOptions are the goroutines a test package that starts
// fasthttp (Fiber) servers must let outlive its tests: fasthttp's Date
// header refresher, one per process for ever, and the idle-worker cleaner of
// a stopped server, which sleeps out MaxIdleWorkerDuration (10 s, not
// settable through Fiber) before it sees the stop. Tests check themselves
// that their servers did stop.
func FasthttpLeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	}
}

// LeakOptions are the goleak options every adapter's TestMain passes:
// goroutines of libraries that are not leaks. The cache cleaner and the
// coarse clock of otter live as long as their cache: a verifier built by
// Require (which the RequireFromEnv test uses, like any program) lives as
// long as the program unless core.CloseRequired closes it.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.periodicCleanUp[...]"),
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.updateCoarseClock"),
	}
}

// testTokenSources: a custom header and a cookie carry the token, in
// addition to or instead of the documented sources, with the same rules.
func testTokenSources(t *testing.T, a Adapter) {
	const header, cookie = "X-Api-Token", "lwa_token"
	t.Run("in addition", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenHeader(header), core.WithTokenCookie(cookie))
		tok, p := e.issue("alice")
		other, _ := e.issue("bob")
		e.accept(t, e.get(t, "", header, tok), &p)
		e.accept(t, e.get(t, "", "Cookie", cookie+"="+tok), &p)
		e.accept(t, e.get(t, "", "Cookie", "a=b; "+cookie+"="+url.QueryEscape(tok)), &p) // decoded once
		e.accept(t, e.get(t, "", auth, bearer(tok), header, tok, "Cookie", cookie+"="+tok), &p)
		e.reject(t, e.get(t, "", auth, bearer(tok), header, other), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "", header, tok, "Cookie", cookie+"="+other), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "", header, "Atza|bad token"), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "", "Cookie", "other="+tok), 400, core.CodeInvalidRequest, "") // another cookie
	})
	t.Run("instead", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenCookie(cookie), core.WithDocumentedSources(false))
		tok, p := e.issue("alice")
		e.accept(t, e.get(t, "", "Cookie", cookie+"="+tok), &p)
		e.reject(t, e.get(t, "", auth, bearer(tok)), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "access_token="+url.QueryEscape(tok)), 400, core.CodeInvalidRequest, "")
	})
}

// testRFC6750: the opt-in RFC 6750 statuses, through the adapter.
func testRFC6750(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{}, core.WithRFC6750Statuses(), core.WithRequiredFields(core.FieldPostalCode))
	check := func(r response, status int, code, challenge string) {
		t.Helper()
		assert.False(t, r.ran, "the handler must not run on a rejection")
		assert.Equal(t, status, r.status, "body: %s", r.body)
		assert.Contains(t, string(r.body), `"error":"`+code+`"`)
		assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
	}
	check(e.get(t, ""), 401, core.CodeInvalidRequest, "Bearer")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)
	check(e.get(t, "", auth, bearer(revoked)), 401, core.CodeInvalidToken,
		`Bearer error="invalid_token", error_description="the access token is expired, revoked, malformed or unknown"`)
	foreign := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.X"})
	r := e.get(t, "", auth, bearer(foreign))
	check(r, 401, core.CodeInvalidToken, r.header.Get("WWW-Authenticate"))
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`)
	noPostal, _ := e.issue("carol", lwatest.WithScopes("profile"))
	r = e.get(t, "", auth, bearer(noPostal))
	check(r, 403, core.CodeInsufficientScope, r.header.Get("WWW-Authenticate"))
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	check(e.get(t, "", auth, bearer("a"), core.HeaderAmzAccessToken, "b"), 400, core.CodeInvalidRequest,
		`Bearer error="invalid_request", error_description="the request carries two different access tokens"`)
	tok, p := e.issue("alice")
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
}

// testRouteRequirements: a route's own required fields and client IDs,
// sharing the verifier's cache with other routes.
func testRouteRequirements(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{Policy: core.Policy{RequiredFields: []string{core.FieldPostalCode}}})
	tok, p := e.issue("alice")
	noPostal, _ := e.issue("bob", lwatest.WithScopes("profile"))
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	e.reject(t, e.get(t, "", auth, bearer(noPostal)), 401, core.CodeInsufficientScope, "")
	// The same verifier on a route without the requirement accepts bob,
	// without asking Amazon again.
	calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
	plain := newEnvWith(t, a, e, Setup{})
	_, err := e.v.Verify(context.Background(), noPostal)
	require.NoError(t, err)
	r := plain.get(t, "", auth, bearer(noPostal))
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, calls, e.srv.CallCount(lwatest.EndpointTokenInfo), "one cache for both routes")

	devices := newEnvWith(t, a, e, Setup{Policy: core.Policy{ClientIDs: []string{"amzn1.application-oa2-client.devices"}}})
	devices.reject(t, devices.get(t, "", auth, bearer(tok)), 404, core.CodeNotFound, "")
}

// testTokenInfo: the handler can read the token's details.
func testTokenInfo(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	tok, _ := e.issue("alice")
	before := time.Now().Add(-2 * time.Second)
	r := e.get(t, "", auth, bearer(tok))
	require.Equal(t, http.StatusOK, r.status)
	var s seen
	require.NoError(t, json.Unmarshal(r.body, &s))
	require.NotNil(t, s.Info, "core.TokenInfoFromContext in the handler")
	assert.Equal(t, ClientID, s.Info.ClientID)
	assert.True(t, s.Info.IssuedAt.After(before), "issued at %v", s.Info.IssuedAt)
	assert.WithinDuration(t, time.Now().Add(time.Hour), s.Info.ExpiresAt, 5*time.Second)
}

// newEnvWith serves another route with the verifier and fake of base.
func newEnvWith(t *testing.T, a Adapter, base *env, s Setup) *env {
	t.Helper()
	e := &env{a: a, srv: base.srv, v: base.v}
	s.Verifier = base.v
	e.serve(t, s)
	return e
}

// waiting counts the verifications waiting for a concurrency slot.
type waiting struct {
	core.NopObserver
	n atomic.Int64
}

func (w *waiting) VerificationWaiting(_ context.Context, d int) { w.n.Add(int64(d)) }

// testUnavailable: the two 503 rows, with Retry-After, through the adapter.
func testUnavailable(t *testing.T, a Adapter) {
	t.Run("circuit breaker open", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithCircuitBreaker(1, time.Minute))
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
		first, _ := e.issue("first")
		e.reject(t, e.get(t, "", auth, bearer(first)), 502, core.CodeServerError, e.rid(t, lwatest.EndpointTokenInfo))
		calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
		next, _ := e.issue("next")
		r := e.get(t, "", auth, bearer(next))
		e.reject(t, r, 503, core.CodeServerError, "")
		assert.Equal(t, "60", r.header.Get("Retry-After"))
		assert.Equal(t, calls, e.srv.CallCount(lwatest.EndpointTokenInfo), "the open breaker asked nobody")
	})
	t.Run("too many waiting", func(t *testing.T) {
		w := &waiting{}
		e := newEnv(t, a, Setup{}, core.WithMaxConcurrentVerifications(1), core.WithMaxPendingVerifications(1),
			core.WithObserver(w), core.WithTimeout(20*time.Second))
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		var wg sync.WaitGroup
		for _, name := range []string{"holder", "waiter"} {
			tok, _ := e.issue(name)
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, e.url+Path, nil)
				req.Header.Set(auth, bearer(tok))
				if resp, err := e.client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			if name == "holder" {
				require.Eventually(t, func() bool { return e.srv.CallCount(lwatest.EndpointTokenInfo) == 1 }, 10*time.Second, time.Millisecond)
			}
		}
		require.Eventually(t, func() bool { return w.n.Load() == 1 }, 10*time.Second, time.Millisecond, "the waiter waits for the slot")
		third, _ := e.issue("third")
		r := e.get(t, "", auth, bearer(third))
		e.reject(t, r, 503, core.CodeServerError, "")
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		e.srv.Close() // releases the hanging calls
		wg.Wait()
	})
}
