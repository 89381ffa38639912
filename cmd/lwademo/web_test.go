package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
// returns the fragment the page receives: a hand-over nonce (see claim) or
// an error code, never a token.
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
	assert.True(t, strings.HasPrefix(cookie, loginCookie+"="), cookie)
	assert.NotContains(t, cookie, q.Get("state"), "the state is sealed")
	assert.NotContains(t, cookie, "code_verifier")
	assert.Contains(t, cookie, "HttpOnly")
	assert.Contains(t, cookie, "SameSite=Lax")
	assert.Contains(t, cookie, "Path=/callback")
	assert.Contains(t, cookie, "Max-Age=600")

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

	back = b.get(cb.String())
	page := back.location(t, http.StatusSeeOther)
	require.Equal(t, origin+"/app", page.Scheme+"://"+page.Host+page.Path)
	assert.Empty(t, page.RawQuery, "nothing in the query")
	assert.Contains(t, back.header.Values("Set-Cookie"), loginCookie+"=; Path=/callback; Max-Age=0; HttpOnly; SameSite=Lax",
		"the callback clears the sign-in's cookie")
	f, err := url.ParseQuery(page.Fragment)
	require.NoError(t, err)
	assert.Empty(t, f.Get("access_token"), "never a token in the URL")
	if f.Get("handoff") != "" {
		var hc string
		for _, c := range back.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, handoffCookie+"=") {
				hc = c
			}
		}
		assert.Contains(t, hc, "Path=/session; Max-Age=60; HttpOnly; SameSite=Lax")
		assert.NotContains(t, hc, f.Get("handoff"), "the nonce is sealed")
	}
	return f
}

// claimReply is what POST /session/claim answered.
type claimReply struct {
	reply
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Error       string `json:"error"`
}

// claimAs is the page at origin trading nonce (and this client's cookies)
// for the token.
func (b *browserish) claimAs(d demo, origin, nonce string) claimReply {
	b.t.Helper()
	body, err := json.Marshal(claimRequest{Handoff: nonce})
	require.NoError(b.t, err)
	h := http.Header{"Content-Type": {"application/json"}}
	if origin != "" {
		h.Set("Origin", origin)
	}
	r := b.post(d.api+"/session/claim", h, string(body))
	c := claimReply{reply: r}
	require.NoError(b.t, json.Unmarshal([]byte(r.body), &c), r.body)
	assert.Equal(b.t, "no-store", r.header.Get("Cache-Control"))
	return c
}

// claim is what the page at origin does with the fragment f the sign-in
// sent it; it returns the token.
func (b *browserish) claim(d demo, origin string, f url.Values) string {
	b.t.Helper()
	require.NotEmpty(b.t, f.Get("handoff"), "a hand-over in the fragment: %v", f)
	c := b.claimAs(d, origin, f.Get("handoff"))
	require.Equal(b.t, http.StatusOK, c.status, c.body)
	assert.Equal(b.t, "bearer", c.TokenType)
	assert.Greater(b.t, c.ExpiresIn, int64(3000), "about an hour")
	assert.Contains(b.t, c.header.Values("Set-Cookie"), handoffCookie+"=; Path=/session; Max-Age=0; HttpOnly; SameSite=Lax",
		"a hand-over is claimed once")
	return c.AccessToken
}

// post sends a raw body.
func (b *browserish) post(rawURL string, header http.Header, body string) reply {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(body))
	require.NoError(b.t, err)
	req.Header = header
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return reply{resp.StatusCode, resp.Header, string(rb)}
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
	assert.Equal(t, []string{"handoff"}, slices.Collect(maps.Keys(f)), "only a nonce in the fragment")
	tok := b.claim(d, d.api, f)
	require.True(t, strings.HasPrefix(tok, "Atza|"), "fragment %v", f)

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

	// A sign-in started on the second origin returns there, and only that
	// origin's page may claim it.
	f = b.signIn(d, d.web, "approve")
	assert.Equal(t, "invalid_handoff", b.claimAs(d, d.api, f.Get("handoff")).Error)
	f = b.signIn(d, d.web, "approve")
	assert.True(t, strings.HasPrefix(b.claim(d, d.web, f), "Atza|"))
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
	// another browser (no login cookie) is refused.
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
	// The right browser, the wrong state: refused, and the cookie is used
	// up.
	invalidState(b.get(d.api + "/callback?code=ANxyz&state=" + url.QueryEscape(state+"x")))
	invalidState(b.get(d.api + "/callback?code=ANxyz&state=" + url.QueryEscape(state)))

	// A made-up code with a good state: the exchange fails cleanly.
	login = b.get(d.api+"/login").location(t, http.StatusFound)
	r := b.get(d.api + "/callback?code=ANnotarealcode&state=" + url.QueryEscape(login.Query().Get("state")))
	u := r.location(t, http.StatusSeeOther)
	f, _ = url.ParseQuery(u.Fragment)
	assert.Equal(t, "invalid_grant", f.Get("error"))
}

func TestSecondAddr(t *testing.T) {
	for _, tc := range []struct {
		api, flag, want string
		auto            bool
	}{
		{"127.0.0.1:8080", "auto", "127.0.0.1:8081", true},
		{"127.0.0.1:0", "auto", "127.0.0.1:0", true},
		{":8080", "auto", ":8081", true},
		{"127.0.0.1:65535", "auto", "127.0.0.1:0", true},
		{"127.0.0.1:8080", "off", "", false},
		{"127.0.0.1:8080", "127.0.0.1:9999", "127.0.0.1:9999", false},
	} {
		got, auto, err := secondAddr(tc.api, tc.flag)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s %s", tc.api, tc.flag)
		assert.Equal(t, tc.auto, auto, "%s %s", tc.api, tc.flag)
	}
	_, _, err := secondAddr("nonsense", "auto")
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

// TestLoginFloodBlocksNoSignIn: ten thousand anonymous GET /login, none of
// which comes back, cost the server nothing it keeps; a customer who then
// signs in is not refused.
func TestLoginFloodBlocksNoSignIn(t *testing.T) {
	d := startRun(t, "-web-addr", "off")
	const n, workers = 10_000, 4
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	t.Cleanup(tr.CloseIdleConnections)
	flood := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	var refused atomic.Int64
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				resp, err := flood.Get(d.api + "/login")
				if err != nil {
					refused.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusFound {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, refused.Load(), "every GET /login of the flood starts a sign-in")

	b := newBrowserish(t)
	f := b.signIn(d, d.api, "approve")
	assert.True(t, strings.HasPrefix(b.claim(d, d.api, f), "Atza|"), "the sign-in after the flood works: %v", f)
}

// TestSecondOriginPortTaken: when -addr's port + 1 is taken (another copy
// of the demo, say), -web-addr auto takes any free port, and says which.
func TestSecondOriginPortTaken(t *testing.T) {
	p := freeBase(t)
	taken, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
	require.NoError(t, err)
	defer taken.Close()
	d := startRun(t, "-addr", "127.0.0.1:"+strconv.Itoa(p))
	assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(p), d.api)
	require.NotEmpty(t, d.web)
	assert.NotEqual(t, "http://127.0.0.1:"+strconv.Itoa(p+1), d.web)
	page := newBrowserish(t).get(d.web + "/app")
	assert.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, page.body, `data-origin="`+d.web+`"`)
}
