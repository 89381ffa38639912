package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/lwatest"
)

// clockedSite is the demo's site with the sealed cookies' clock under the
// test's control (the fake Amazon keeps its own clock).
type clockedSite struct {
	*site
	d    demo
	skew atomic.Int64 // added to the real time
}

func startClockedSite(t *testing.T) *clockedSite {
	t.Helper()
	c := &clockedSite{}
	c.site = startSiteWithClock(t, func() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) })
	c.d = demo{api: c.api, web: c.web}
	return c
}

func (c *clockedSite) advance(d time.Duration) { c.skew.Add(int64(d)) }

// cookieValue returns the value of the cookie name that b holds for path.
func (b *browserish) cookieValue(rawURL, name string) string {
	b.t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(b.t, err)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// rawGet sends a GET with exactly the given cookie, from no browser.
func rawGet(t *testing.T, rawURL string, cookies ...*http.Cookie) reply {
	t.Helper()
	b := newBrowserish(t)
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := b.c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return reply{status: resp.StatusCode, header: resp.Header}
}

// fragmentOf returns the fragment the page receives from a callback.
func fragmentOf(t *testing.T, r reply) url.Values {
	t.Helper()
	u := r.location(t, http.StatusSeeOther)
	f, err := url.ParseQuery(u.Fragment)
	require.NoError(t, err)
	assert.Empty(t, f.Get("access_token"))
	return f
}

// startLogin runs /login in b and the fake's automatic consent, and returns
// the callback URL Amazon sends the browser to (not yet followed).
func startLogin(t *testing.T, c *clockedSite, b *browserish) string {
	t.Helper()
	c.fake.SetConsent(lwatest.AutoApprove)
	toAmazon := b.get(c.api+"/login").location(t, http.StatusFound)
	cb := b.get(toAmazon.String()).location(t, http.StatusFound)
	require.NotEmpty(t, cb.Query().Get("code"))
	return cb.String()
}

// TestLoginCookieRefusals: the sealed login cookie that replaced the table
// of sign-ins under way is refused when tampered with, cut, sealed for
// another cookie or by another process, expired, or replayed.
func TestLoginCookieRefusals(t *testing.T) {
	c := startClockedSite(t)
	invalidState := func(what string, r reply) {
		t.Helper()
		assert.Equal(t, "invalid_state", fragmentOf(t, r).Get("error"), what)
		assert.Empty(t, fragmentOf(t, r).Get("handoff"), what)
	}

	b := newBrowserish(t)
	callback := startLogin(t, c, b)
	cu, _ := url.Parse(callback)
	good := b.cookieValue(c.api+"/callback", loginCookie)
	require.NotEmpty(t, good)
	assert.NotContains(t, good, cu.Query().Get("state"), "the state is sealed")
	login := func(v string) *http.Cookie { return &http.Cookie{Name: loginCookie, Value: v} }

	// Tampered with: any changed character, cut short, padded, garbage.
	for _, i := range []int{0, len(good) / 3, len(good) / 2, len(good) - 1} {
		flipped := []byte(good)
		if flipped[i] == 'A' {
			flipped[i] = 'B'
		} else {
			flipped[i] = 'A'
		}
		invalidState("a changed character", rawGet(t, callback, login(string(flipped))))
	}
	invalidState("cut short", rawGet(t, callback, login(good[:len(good)-4])))
	invalidState("padded", rawGet(t, callback, login(good+"AAAA")))
	invalidState("empty", rawGet(t, callback, login("")))
	invalidState("not base64", rawGet(t, callback, login("!!not base64!!")))
	invalidState("oversized", rawGet(t, callback, login(strings.Repeat("A", 5000))))

	// Sealed by another process (another key), with the right state.
	other, err := newSealer(time.Now)
	require.NoError(t, err)
	forged, err := other.seal(loginCookie, &loginState{State: cu.Query().Get("state"), Verifier: "v", Origin: c.api, Expires: time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	invalidState("another process's key", rawGet(t, callback, login(forged)))

	// Sealed by this process for the other cookie (a hand-over presented
	// as a login): the cookie's name is authenticated.
	forHandoff, err := c.seal.seal(handoffCookie, &loginState{State: cu.Query().Get("state"), Verifier: "v", Origin: c.api, Expires: time.Now().Add(time.Hour).Unix()})
	require.NoError(t, err)
	invalidState("sealed for the hand-over cookie", rawGet(t, callback, login(forHandoff)))

	// None of that used the genuine sign-in up: its own browser completes it.
	f := fragmentOf(t, b.get(callback))
	require.NotEmpty(t, f.Get("handoff"), "%v", f)
	assert.Empty(t, b.cookieValue(c.api+"/callback", loginCookie), "cleared")

	// Replayed. The same browser (back button, reload): its cookie is gone.
	invalidState("replayed by its browser", b.get(callback))
	// Someone who copied the cookie and the callback URL: the state
	// matches, but Amazon redeems a code once, so no token.
	stolen := rawGet(t, callback, login(good))
	sf := fragmentOf(t, stolen)
	assert.Equal(t, "invalid_grant", sf.Get("error"))
	assert.Empty(t, sf.Get("handoff"))
	for _, sc := range stolen.header.Values("Set-Cookie") {
		assert.False(t, strings.HasPrefix(sc, handoffCookie+"="), "no hand-over: %s", sc)
	}
	// The copied cookie with another sign-in's callback (a fresh code, its
	// own state): the state does not match.
	invalidState("copied cookie, another sign-in", rawGet(t, startLogin(t, c, newBrowserish(t)), login(good)))

	// Expired: ten minutes after /login the cookie no longer opens, whatever
	// the browser kept.
	b2 := newBrowserish(t)
	callback2 := startLogin(t, c, b2)
	late := b2.cookieValue(c.api+"/callback", loginCookie)
	c.advance(loginLifetime + time.Second)
	invalidState("expired", rawGet(t, callback2, login(late)))
	c.advance(-(loginLifetime + time.Second))

	// Just in time: nine minutes after /login it still works.
	b3 := newBrowserish(t)
	callback3 := startLogin(t, c, b3)
	c.advance(9 * time.Minute)
	f = fragmentOf(t, b3.get(callback3))
	assert.NotEmpty(t, f.Get("handoff"), "%v", f)
	assert.True(t, strings.HasPrefix(b3.claim(c.d, c.api, f), "Atza|"))
}

// TestHandoffRefusals: the token reaches only the page of the browser that
// signed in, on the origin the sign-in was for, once, within a minute.
func TestHandoffRefusals(t *testing.T) {
	c := startClockedSite(t)
	d := c.d
	signIn := func(b *browserish) string {
		t.Helper()
		f := fragmentOf(t, b.get(startLogin(t, c, b)))
		require.NotEmpty(t, f.Get("handoff"))
		return f.Get("handoff")
	}
	refused := func(what, code string, r claimReply) {
		t.Helper()
		assert.Equal(t, http.StatusForbidden, r.status, what)
		assert.Equal(t, code, r.Error, what)
		assert.Empty(t, r.AccessToken, what)
		assert.NotContains(t, r.body, "Atza|", what)
	}

	// Another browser, with the right nonce (the attacker's own link, or a
	// nonce read over the victim's shoulder), has no cookie.
	b := newBrowserish(t)
	nonce := signIn(b)
	refused("another browser", "invalid_handoff", newBrowserish(t).claimAs(d, d.api, nonce))
	// A made-up nonce: refused, and the hand-over is spent (one try).
	refused("made-up nonce", "invalid_handoff", b.claimAs(d, d.api, "made-up"))
	refused("spent", "invalid_handoff", b.claimAs(d, d.api, nonce))

	// Only our pages: no Origin, another site's, or not a JSON body.
	refused("no Origin", "invalid_request", b.claimAs(d, "", signIn(b)))
	refused("another site", "invalid_request", b.claimAs(d, "http://evil.example", signIn(b)))
	nonce = signIn(b)
	form := b.post(d.api+"/session/claim", http.Header{"Origin": {d.api}, "Content-Type": {"application/x-www-form-urlencoded"}}, "handoff="+nonce)
	assert.Equal(t, http.StatusForbidden, form.status)
	assert.NotContains(t, form.body, "Atza|")

	// Claimed once.
	nonce = signIn(b)
	captured := b.cookieValue(d.api+"/session/claim", handoffCookie)
	tok := b.claim(d, d.api, url.Values{"handoff": {nonce}})
	require.True(t, strings.HasPrefix(tok, "Atza|"))
	refused("claimed twice", "invalid_handoff", b.claimAs(d, d.api, nonce))
	// A copy of the cookie is good for a minute at most.
	c.advance(handoffTimeout)
	thief := newBrowserish(t)
	u, _ := url.Parse(d.api + "/session/claim")
	thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: handoffCookie, Value: captured, Path: "/session"}})
	refused("a copy after a minute", "invalid_handoff", thief.claimAs(d, d.api, nonce))
	// And so is a hand-over nobody claimed.
	nonce = signIn(b)
	c.advance(handoffTimeout)
	refused("unclaimed for a minute", "invalid_handoff", b.claimAs(d, d.api, nonce))

	// The page hands its token to our other origin's page.
	handTo := func(b *browserish, from, to, token string) reply {
		t.Helper()
		h := http.Header{"Content-Type": {"application/json"}}
		if from != "" {
			h.Set("Origin", from)
		}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return b.post(d.api+"/session/handoff", h, `{"origin":"`+to+`"}`)
	}
	r := handTo(b, d.api, d.web, tok)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Credentials"))
	assert.NotContains(t, r.body, "Atza|")
	nonce = jsonField(t, r.body, "handoff")
	refused("for the other origin", "invalid_handoff", b.claimAs(d, d.api, nonce))
	r = handTo(b, d.api, d.web, tok)
	nonce = jsonField(t, r.body, "handoff")
	assert.Equal(t, tok, b.claim(d, d.web, url.Values{"handoff": {nonce}}), "the same token, on the other origin")

	// Refused: no token (lwa), a bad token (lwa), another site's page, no
	// Origin, another site as the target, a form post (a cross-site
	// <form> carrying ?access_token=).
	assert.Equal(t, http.StatusBadRequest, handTo(b, d.api, d.web, "").status)
	assert.Equal(t, http.StatusBadRequest, handTo(b, d.api, d.web, "Atza|broken").status)
	assert.Equal(t, http.StatusForbidden, handTo(b, "http://evil.example", d.web, tok).status)
	assert.Equal(t, http.StatusForbidden, handTo(b, "", d.web, tok).status)
	assert.Equal(t, http.StatusForbidden, handTo(b, d.api, "http://evil.example", tok).status)
	cross := b.post(d.api+"/session/handoff?access_token="+url.QueryEscape(tok),
		http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"application/x-www-form-urlencoded"}}, "origin="+url.QueryEscape(d.web))
	assert.Equal(t, http.StatusForbidden, cross.status)
	for _, sc := range cross.header.Values("Set-Cookie") {
		assert.False(t, strings.HasPrefix(sc, handoffCookie+"="), "no hand-over: %s", sc)
	}

	// The preflight of the page's cross-origin claim allows what it sends.
	pre := b.do(http.MethodOptions, d.api+"/session/claim", http.Header{
		"Origin":                         {d.web},
		"Access-Control-Request-Method":  {"POST"},
		"Access-Control-Request-Headers": {"content-type"},
	}, nil)
	assert.Equal(t, http.StatusNoContent, pre.status)
	assert.Equal(t, d.web, pre.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", pre.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, pre.header.Get("Access-Control-Allow-Headers"), "Content-Type")
	// The API itself is never called with credentials.
	me := b.do(http.MethodGet, d.api+"/me", http.Header{"Origin": {d.web}, "Authorization": {"Bearer " + tok}}, nil)
	assert.Equal(t, http.StatusOK, me.status)
	assert.Empty(t, me.header.Get("Access-Control-Allow-Credentials"))
}
