package main

import (
	"bytes"
	"context"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/chrometest"
	"github.com/go-lwa/lwa/lwatest"
)

// startSiteForTest serves the demo as run does (same verifier options, same
// handlers), keeping the *site so the test can see the preflights it
// answered.
func startSiteForTest(t testing.TB) *site {
	t.Helper()
	return startSiteWithClock(t, time.Now)
}

// startSiteWithClock is startSiteForTest with the clock of the sign-in's
// sealed cookies set to now.
func startSiteWithClock(t testing.TB, now func() time.Time) *site {
	t.Helper()
	fake := lwatest.NewServer()
	t.Cleanup(fake.Close)
	v, err := core.NewVerifier(core.WithClientID(demoClientID), core.WithEndpoint(fake.URL), core.WithHTTPClient(fake.Client()))
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s, err := startSite(v, fake, "http://"+ln.Addr().String(), "127.0.0.1:0", "auto")
	require.NoError(t, err)
	s.seal.now = now
	srv := &http.Server{Handler: s.handler(routes(v, http.NotFoundHandler())), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
		s.close()
	})
	return s
}

// TestBrowserSignIn drives headless Chromium through the whole demo: sign in
// on the fake consent page, the profile on the page, the same API called
// from a second origin (CORS preflight), a broken token's error code, sign
// out. With LWA_UPDATE_SCREENSHOT=1 it also refreshes docs/demo.png.
func TestBrowserSignIn(t *testing.T) {
	s := startSiteForTest(t)
	require.NotEmpty(t, s.web)

	bctx := chrometest.Start(t, 60*time.Second, 900, 640)

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(bctx, actions...), name)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID(sel), chromedp.NodeVisible))
		require.NoError(t, err, "text of #%s", sel)
		return v
	}
	// until waits for a JavaScript expression to be truthy and returns it.
	until := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Poll[string](expr, chromedp.WithPollingTimeout(20*time.Second)))
		require.NoError(t, err, "waiting for %s", expr)
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Location())
		require.NoError(t, err)
		return v
	}

	// signedOut checks that the page, once it has handled its address,
	// shows nobody signed in and holds no token.
	signedOut := func(what string) {
		t.Helper()
		step("page ready", chromedp.WaitReady(chromedp.CSS("body[data-ready]")))
		state, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]any](`({
			signedIn: !document.getElementById("signed-in").hidden,
			signedOut: !document.getElementById("signed-out").hidden,
			token: sessionStorage.getItem("lwademo.access_token") !== null,
			name: document.getElementById("name").textContent,
		})`))
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"signedIn": false, "signedOut": true, "token": false, "name": ""}, state,
			"%s: nobody is signed in, no token kept", what)
	}
	// visit loads url as a new document (a link followed from elsewhere),
	// not as a fragment change of the page already open.
	visit := func(what, url string) {
		t.Helper()
		step(what, chromedp.Navigate("about:blank"), chromedp.Navigate(url))
		step("page ready", chromedp.WaitReady(chromedp.CSS("body[data-ready]")))
	}
	pageText := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
		require.NoError(t, err)
		return v
	}

	// 0. Login CSRF: the attacker signs in at the demo as themselves, then
	// has the victim open the page with the attacker's token in the
	// fragment. The victim must not end up signed in as the attacker, on
	// either origin; nor with a made-up hand-over.
	mallory := core.Profile{UserID: "amzn1.account.MALLORY", Email: "mallory@example.net", Name: "Mallory Attacker"}
	attackers := s.fake.Issue(demoClientID, mallory)
	for _, origin := range []string{s.api, s.web} {
		visit("attacker's link", origin+"/app#"+url.Values{"access_token": {attackers}, "token_type": {"bearer"}}.Encode())
		signedOut("attacker's link on " + origin)
		assert.NotContains(t, pageText(), "Mallory")
		assert.Equal(t, origin+"/app", location(), "the fragment left the address bar")
		visit("made-up hand-over", origin+"/app#handoff=made-up")
		signedOut("made-up hand-over on " + origin)
	}

	// 1. The page, signed out.
	step("open the page", chromedp.Navigate(s.api+"/app"), chromedp.WaitVisible(chromedp.ID("signin")))

	// 2. Sign in with Amazon: the fake's consent page.
	step("sign in", chromedp.Click(chromedp.ID("signin"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("approve")))
	assert.Equal(t, "lwademo would like to access your name, email address and postal code.", text("ask"))
	assert.Equal(t, "Ada Lovelace", text("customer"))
	assert.True(t, strings.HasPrefix(location(), s.fake.URL+"/ap/oa?"), location())

	// 3. Approve: back on the page, which shows the profile from /me.
	step("approve", chromedp.Click(chromedp.ID("approve"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("signed-in")))
	assert.Equal(t, "Ada Lovelace", until(`document.getElementById("name").textContent`))
	assert.Equal(t, "ada@example.com", text("email"))
	assert.Equal(t, "amzn1.account.DEMOUSER", text("user_id"))
	assert.Contains(t, text("me-status"), "200 OK, same origin")
	assert.Equal(t, s.api+"/app", location(), "the nonce left the address bar")
	assert.Contains(t, text("log"), "POST "+s.api+"/session/claim → 200", "the page claimed its browser's sign-in")

	// 3b. Signed in, the victim follows the attacker's link: still Ada.
	visit("attacker's link, signed in", s.api+"/app#access_token="+url.QueryEscape(attackers))
	assert.Equal(t, "Ada Lovelace", until(`document.getElementById("name").textContent`))
	assert.NotContains(t, pageText(), "Mallory")
	assert.Equal(t, s.api+"/app", location())

	// 4. The same API from the second origin: a preflight, then the call.
	step("open the second origin",
		chromedp.Click(chromedp.ID("other-origin"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("cross")), // the page on the other origin
		chromedp.WaitVisible(chromedp.ID("signed-in")))
	assert.Equal(t, s.web+"/app", location())
	assert.Contains(t, text("log"), "POST "+s.api+"/session/claim → 200 (cross-origin)", "handed over through the API, not the URL")
	assert.Contains(t, until(`(t => t.includes("cross-origin") && t)(document.getElementById("me-status").textContent)`),
		"GET /me → 200 OK, cross-origin from "+s.web)
	assert.Equal(t, "Ada Lovelace", text("name"))
	assert.True(t, slices.Contains(s.preflightsSeen(), preflight{Origin: s.web, Method: "GET", Path: "/me"}),
		"the API answered the browser's preflight: %v", s.preflightsSeen())

	// 5. A broken token: the page shows the API's error code, read from
	// the JSON body, and the exposed WWW-Authenticate header.
	step("broken token", chromedp.Click(chromedp.ID("broken"), chromedp.NodeVisible))
	assert.Equal(t, "invalid_token", until(`document.getElementById("broken-result").dataset.code`))
	broken := text("broken-result")
	assert.Contains(t, broken, "400 invalid_token")
	assert.Contains(t, broken, `WWW-Authenticate: Bearer error="invalid_token"`)

	// The screenshot: signed in, cross-origin, with the broken token's
	// answer.
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	require.NoError(t, err, "a PNG")
	assert.Greater(t, cfg.Width, 500)
	require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "demo.png"), shot, 0o644))
	if os.Getenv("LWA_UPDATE_SCREENSHOT") == "1" {
		require.NoError(t, os.MkdirAll(filepath.Join("..", "..", "docs"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "demo.png"), shot, 0o644))
		t.Log("wrote docs/demo.png")
	}

	// 6. Sign out (a cross-origin POST /logout), then /me refuses the token.
	step("sign out", chromedp.Click(chromedp.ID("signout"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.ID("after-signout")))
	assert.Equal(t, "invalid_token", until(`document.getElementById("after-signout").dataset.code`))
	assert.Contains(t, text("after-signout"), "POST /logout → 200")
	assert.Contains(t, text("after-signout"), "GET /me with the old token → 400 invalid_token")
	step("signed out", chromedp.WaitVisible(chromedp.ID("signin")), chromedp.WaitNotVisible(chromedp.ID("signed-in")))
	assert.True(t, slices.Contains(s.preflightsSeen(), preflight{Origin: s.web, Method: "POST", Path: "/logout"}),
		"the sign-out was preflighted too: %v", s.preflightsSeen())
}
