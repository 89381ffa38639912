package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// demo is a running lwademo, started through run as a newcomer would.
type demo struct {
	api, web string // the API's origin and the second origin
	out      string // what it printed
}

var (
	signInLine = regexp.MustCompile(`(?m)^Sign in with a browser: (http://\S+)/app$`)
	secondLine = regexp.MustCompile(`(?m)^The same page on a second origin.*: (http://\S+)/app$`)
)

func startRun(t *testing.T, args ...string) demo {
	t.Helper()
	t.Setenv("LWA_CLIENT_ID", "")
	t.Setenv("LWA_ENDPOINT", "")
	ctx, cancel := context.WithCancel(context.Background())
	out := &safeBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("demo stopped early: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		http.DefaultClient.CloseIdleConnections()
	})
	d := demo{out: out.String()}
	m := signInLine.FindStringSubmatch(d.out)
	require.NotNil(t, m, "the demo prints where to sign in:\n%s", d.out)
	d.api = m[1]
	if m := secondLine.FindStringSubmatch(d.out); m != nil {
		d.web = m[1]
	}
	return d
}

// browserish is an HTTP client with cookies that does not follow redirects,
// so each hop of the sign-in can be checked.
type browserish struct {
	t *testing.T
	c *http.Client
}

func newBrowserish(t *testing.T) *browserish {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &browserish{t: t, c: &http.Client{
		Jar:           jar,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (b *browserish) do(method, rawURL string, header http.Header, form url.Values) reply {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(b.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return reply{resp.StatusCode, resp.Header, string(rb)}
}

func (b *browserish) get(rawURL string) reply { return b.do(http.MethodGet, rawURL, nil, nil) }

// location returns the redirect target of r.
func (r reply) location(t *testing.T, status int) *url.URL {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	u, err := url.Parse(r.header.Get("Location"))
	require.NoError(t, err)
	return u
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signIn runs /login → consent page → Allow (or Deny) → /callback and
// returns the fragment the page receives.
func (b *browserish) signIn(d demo, origin, decision string) url.Values {
	t := b.t
	t.Helper()
	login := b.get(d.api + "/login?origin=" + url.QueryEscape(origin))
	toAmazon := login.location(t, http.StatusFound)
	q := toAmazon.Query()
	assert.Equal(t, "/ap/oa", toAmazon.Path)
	assert.Equal(t, demoClientID, q.Get("client_id"))
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Equal(t, d.api+"/callback", q.Get("redirect_uri"))
	assert.Equal(t, "profile postal_code", q.Get("scope"))
	assert.NotEmpty(t, q.Get("state"))
	cookie := login.header.Get("Set-Cookie")
	assert.Contains(t, cookie, stateCookie+"="+q.Get("state"))
	assert.Contains(t, cookie, "HttpOnly")
	assert.Contains(t, cookie, "SameSite=Lax")
	assert.Contains(t, cookie, "Path=/callback")
	assert.NotContains(t, cookie, "code_verifier", "the verifier stays on the server")

	consent := b.get(toAmazon.String())
	require.Equal(t, http.StatusOK, consent.status, consent.body)
	assert.Contains(t, consent.body, "lwademo would like to access your name, email address and postal code.")
	assert.Contains(t, consent.body, "Ada Lovelace")
	form := url.Values{"decision": {decision}}
	for _, m := range hiddenInput.FindAllStringSubmatch(consent.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	back := b.do(http.MethodPost, toAmazon.Scheme+"://"+toAmazon.Host+"/ap/oa", nil, form)
	cb := back.location(t, http.StatusFound)
	require.Equal(t, d.api+"/callback", cb.Scheme+"://"+cb.Host+cb.Path)

	page := b.get(cb.String()).location(t, http.StatusSeeOther)
	require.Equal(t, origin+"/app", page.Scheme+"://"+page.Host+page.Path)
	assert.Empty(t, page.RawQuery, "nothing in the query: the token travels in the fragment")
	f, err := url.ParseQuery(page.Fragment)
	require.NoError(t, err)
	return f
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func jsonField(t *testing.T, body, field string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	s, _ := m[field].(string)
	return s
}

// TestSignInOverHTTP runs the browser flow without a browser, through run:
// sign-in, /me, CORS from the second origin, sign-out.
func TestSignInOverHTTP(t *testing.T) {
	d := startRun(t)
	require.NotEmpty(t, d.web, "a second origin by default:\n%s", d.out)
	require.NotEqual(t, d.api, d.web)
	b := newBrowserish(t)

	for _, origin := range []string{d.api, d.web} {
		page := b.get(origin + "/app")
		require.Equal(t, http.StatusOK, page.status)
		assert.Contains(t, page.body, `data-api="`+d.api+`"`)
		assert.Contains(t, page.body, `id="signin"`)
		assert.Contains(t, page.header.Get("Content-Security-Policy"), "connect-src 'self' "+d.api)
		assert.Equal(t, http.StatusOK, b.get(origin+"/app.js").status)
		assert.Equal(t, http.StatusOK, b.get(origin+"/app.css").status)
	}

	f := b.signIn(d, d.api, "approve")
	tok := f.Get("access_token")
	require.True(t, strings.HasPrefix(tok, "Atza|"), "fragment %v", f)
	assert.Equal(t, "bearer", f.Get("token_type"))
	assert.NotContains(t, f, "refresh_token", "the refresh token stays on the server")

	me := b.do(http.MethodGet, d.api+"/me", bearer(tok), nil)
	require.Equal(t, http.StatusOK, me.status, me.body)
	assert.Equal(t, "Ada Lovelace", jsonField(t, me.body, "name"))
	assert.Equal(t, "amzn1.account.DEMOUSER", jsonField(t, me.body, "user_id"))

	// The second origin: preflight, then the call, both with CORS headers.
	pre := b.do(http.MethodOptions, d.api+"/me", http.Header{
		"Origin":                         {d.web},
		"Access-Control-Request-Method":  {"GET"},
		"Access-Control-Request-Headers": {"authorization"},
	}, nil)
	require.Equal(t, http.StatusNoContent, pre.status)
	assert.Equal(t, d.web, pre.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, pre.header.Get("Access-Control-Allow-Headers"), "Authorization")
	assert.Contains(t, pre.header.Get("Access-Control-Allow-Headers"), "X-Amz-Access-Token")
	assert.Contains(t, pre.header.Get("Access-Control-Allow-Methods"), "POST")
	cross := b.do(http.MethodGet, d.api+"/me", http.Header{"Origin": {d.web}, "Authorization": {"Bearer " + tok}}, nil)
	require.Equal(t, http.StatusOK, cross.status)
	assert.Equal(t, d.web, cross.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "WWW-Authenticate", cross.header.Get("Access-Control-Expose-Headers"))
	assert.Contains(t, cross.header.Values("Vary"), "Origin")

	// A rejection carries the CORS headers too, so the page can read it.
	broken := b.do(http.MethodGet, d.api+"/me", http.Header{"Origin": {d.web}, "Authorization": {"Bearer Atza|broken"}}, nil)
	require.Equal(t, http.StatusBadRequest, broken.status)
	assert.Equal(t, "invalid_token", jsonField(t, broken.body, "error"))
	assert.Equal(t, d.web, broken.header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, broken.header.Get("WWW-Authenticate"), `error="invalid_token"`)

	// Another origin gets no CORS headers, and its preflight is refused.
	evil := b.do(http.MethodOptions, d.api+"/me", http.Header{"Origin": {"http://evil.example"}, "Access-Control-Request-Method": {"GET"}}, nil)
	assert.Equal(t, http.StatusForbidden, evil.status)
	assert.Empty(t, evil.header.Get("Access-Control-Allow-Origin"))
	evilGet := b.do(http.MethodGet, d.api+"/me", http.Header{"Origin": {"http://evil.example"}, "Authorization": {"Bearer " + tok}}, nil)
	assert.Empty(t, evilGet.header.Get("Access-Control-Allow-Origin"))

	// Sign-out needs the token, and ends it.
	assert.Equal(t, http.StatusBadRequest, b.do(http.MethodPost, d.api+"/logout", nil, nil).status)
	out := b.do(http.MethodPost, d.api+"/logout", http.Header{"Origin": {d.web}, "Authorization": {"Bearer " + tok}}, nil)
	require.Equal(t, http.StatusOK, out.status, out.body)
	assert.Equal(t, d.web, out.header.Get("Access-Control-Allow-Origin"))
	after := b.do(http.MethodGet, d.api+"/me", bearer(tok), nil)
	assert.Equal(t, http.StatusBadRequest, after.status)
	assert.Equal(t, "invalid_token", jsonField(t, after.body, "error"))

	// A sign-in started on the second origin returns there.
	f = b.signIn(d, d.web, "approve")
	assert.True(t, strings.HasPrefix(f.Get("access_token"), "Atza|"))
}

func TestSignInRefusals(t *testing.T) {
	d := startRun(t, "-web-addr", "off")
	assert.Empty(t, d.web)
	b := newBrowserish(t)

	// The customer clicks Deny.
	f := b.signIn(d, d.api, "deny")
	assert.Equal(t, "access_denied", f.Get("error"))
	assert.Empty(t, f.Get("access_token"))

	// Only our own origins may receive a token.
	assert.Equal(t, http.StatusBadRequest, b.get(d.api+"/login?origin="+url.QueryEscape("http://evil.example")).status)

	// A callback with no sign-in behind it, one replayed, or one from
	// another browser (no state cookie) is refused.
	invalidState := func(r reply) {
		t.Helper()
		u := r.location(t, http.StatusSeeOther)
		f, _ := url.ParseQuery(u.Fragment)
		assert.Equal(t, "invalid_state", f.Get("error"))
		assert.Empty(t, f.Get("access_token"))
	}
	invalidState(b.get(d.api + "/callback?code=ANxyz&state=made-up"))

	login := b.get(d.api+"/login").location(t, http.StatusFound)
	state := login.Query().Get("state")
	stranger := newBrowserish(t) // the attacker's victim: no cookie
	invalidState(stranger.get(d.api + "/callback?code=ANxyz&state=" + url.QueryEscape(state)))
	// That attempt used the state up.
	invalidState(b.get(d.api + "/callback?code=ANxyz&state=" + url.QueryEscape(state)))

	// A made-up code with a good state: the exchange fails cleanly.
	login = b.get(d.api+"/login").location(t, http.StatusFound)
	r := b.get(d.api + "/callback?code=ANnotarealcode&state=" + url.QueryEscape(login.Query().Get("state")))
	u := r.location(t, http.StatusSeeOther)
	f, _ = url.ParseQuery(u.Fragment)
	assert.Equal(t, "invalid_grant", f.Get("error"))
}

func TestSecondAddr(t *testing.T) {
	for _, tc := range []struct{ api, flag, want string }{
		{"127.0.0.1:8080", "auto", "127.0.0.1:8081"},
		{"127.0.0.1:0", "auto", "127.0.0.1:0"},
		{":8080", "auto", ":8081"},
		{"127.0.0.1:8080", "off", ""},
		{"127.0.0.1:8080", "127.0.0.1:9999", "127.0.0.1:9999"},
	} {
		got, err := secondAddr(tc.api, tc.flag)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s %s", tc.api, tc.flag)
	}
	_, err := secondAddr("nonsense", "auto")
	assert.Error(t, err)
}

func TestBrowserSignInNeedsSecretAgainstAmazon(t *testing.T) {
	t.Setenv("LWA_CLIENT_ID", "amzn1.application-oa2-client.real")
	t.Setenv(envClientSecret, "")
	ctx, cancel := context.WithCancel(context.Background())
	out := &safeBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-web-addr", "off"}, out, ready) }()
	addr := <-ready
	defer func() { cancel(); require.NoError(t, <-done) }()
	assert.Contains(t, out.String(), "Browser sign-in needs LWA_CLIENT_SECRET")
	resp, err := http.Get("http://" + addr + "/login")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	http.DefaultClient.CloseIdleConnections()
}
