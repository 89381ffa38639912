package lwatest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// The code-pair answer has Amazon's fields, in the order of Amazon's
// example, and is not cached.
func TestCodePairAnswer(t *testing.T) {
	srv := newDeviceServer(t)
	a := postForm(t, srv, "/auth/o2/create/codepair", codePairForm("profile postal_code"))
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	assert.Equal(t, "application/json", a.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", a.Header.Get("Cache-Control"))
	assert.Regexp(t, `^\{"device_code":"[^"]+","user_code":"[^"]+","verification_uri":"[^"]+","expires_in":600,"interval":30\}$`, a.Body)

	var p pair
	require.NoError(t, json.Unmarshal([]byte(a.Body), &p))
	assert.Regexp(t, `^[A-HJ-NP-Z2-9]{6}$`, p.UserCode, "6 characters, no look-alikes")
	assert.Regexp(t, `^[0-9a-f-]{36}$`, p.DeviceCode)
	assert.Equal(t, srv.CodeEntryURL(), p.VerificationURI)
	assert.Equal(t, srv.URL+"/code", srv.CodeEntryURL())
	assert.Equal(t, srv.URL+"/auth/o2/create/codepair", srv.CodePairURL())
	assert.Equal(t, "/auth/o2/create/codepair", lwatest.EndpointCodePair.Path())
	assert.Equal(t, "/code", lwatest.EndpointCodeEntry.Path())
	assert.Equal(t, "codepair", lwatest.EndpointCodePair.String())
	assert.Equal(t, "code-entry", lwatest.EndpointCodeEntry.String())

	q := newPair(t, srv, "profile")
	assert.NotEqual(t, p.DeviceCode, q.DeviceCode)
	assert.NotEqual(t, p.UserCode, q.UserCode)

	srv.SetCodePairTiming(90*time.Second, 2*time.Second)
	r := newPair(t, srv, "profile")
	assert.Equal(t, [2]int{90, 2}, [2]int{r.ExpiresIn, r.Interval})
}

func TestCodePairErrors(t *testing.T) {
	srv := newDeviceServer(t)
	good := codePairForm("profile")
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"no response_type":    {with(good, "response_type", ""), 400, "invalid_request"},
		"no client_id":        {with(good, "client_id", ""), 400, "invalid_request"},
		"no scope":            {with(good, "scope", ""), 400, "invalid_request"},
		"response_type code":  {with(good, "response_type", "code"), 400, "unsupported_response_type"},
		"unknown client":      {with(good, "client_id", "amzn1.application-oa2-client.nobody"), 401, "invalid_client"},
		"web client":          {with(good, "client_id", webID), 400, "unauthorized_client"},
		"web client + secret": {with(good, "client_id", webID, "client_secret", webSecret), 400, "unauthorized_client"},
		"wrong secret":        {with(good, "client_id", webID, "client_secret", "nope"), 401, "invalid_client"},
		"secret of a device":  {with(good, "client_secret", "x"), 401, "invalid_client"},
		"unknown scope":       {with(good, "scope", "profile alexa:all"), 400, "invalid_scope"},
		"repeated parameter":  {url.Values{"response_type": {"device_code"}, "client_id": {tvID, tvID}, "scope": {"profile"}}, 400, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			a := postForm(t, srv, "/auth/o2/create/codepair", tc.form)
			requireOAuthError(t, a, tc.status, tc.code)
		})
	}

	// Not a form, not a POST.
	req, _ := http.NewRequest(http.MethodPost, srv.CodePairURL(), strings.NewReader(`{"response_type":"device_code"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	requireOAuthError(t, readAnswer(t, resp), 400, "invalid_request")
	a := do(t, srv, http.MethodGet, "/auth/o2/create/codepair?"+good.Encode(), nil)
	requireOAuthError(t, a, http.StatusMethodNotAllowed, "invalid_request")
	assert.Equal(t, "POST", a.Header.Get("Allow"))

	srv.Fail(lwatest.EndpointCodePair, lwatest.Failure{Status: 500, Times: 1})
	requireOAuthError(t, postForm(t, srv, "/auth/o2/create/codepair", good), 500, "ServerError")
	assert.Equal(t, 14, srv.CallCount(lwatest.EndpointCodePair))
}

// The whole flow without a browser: pending until the customer approves,
// then the tokens, once.
func TestDeviceCodePendingThenApproved(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile postal_code")

	requirePollError(t, poll(t, srv, p), "authorization_pending")
	srv.Advance(30 * time.Second)
	requirePollError(t, poll(t, srv, p), "authorization_pending")

	require.NoError(t, srv.ApproveCode(p.UserCode))
	require.ErrorContains(t, srv.ApproveCode(p.UserCode), "already answered")
	srv.Advance(30 * time.Second)
	ta := requireTokens(t, poll(t, srv, p))

	// The access token verifies like any other: issued to the TV for Ada.
	v, err := core.NewVerifier(core.WithClientID(tvID), core.WithEndpoint(srv.URL), core.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	defer v.Close()
	got, err := v.Verify(t.Context(), ta.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, ada, got)
	info := tokenInfo(t, srv, ta.AccessToken).JSON(t)
	assert.Equal(t, tvID, info["aud"])

	// One-time: the device code is spent.
	srv.Advance(30 * time.Second)
	requirePollError(t, poll(t, srv, p), "invalid_grant")
}

// A device that polls sooner than its interval is told to slow down, and
// its interval grows by 5 seconds each time.
func TestDeviceCodeSlowDown(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile")
	requirePollError(t, poll(t, srv, p), "authorization_pending") // the first poll may come at once
	a := poll(t, srv, p)
	requirePollError(t, a, "slow_down")
	assert.Contains(t, a.JSON(t)["error_description"], "wait 35 seconds")

	srv.Advance(30 * time.Second) // the old interval is too short now
	requirePollError(t, poll(t, srv, p), "slow_down")
	srv.Advance(39 * time.Second) // 40 s less the tolerance (1 s)
	requirePollError(t, poll(t, srv, p), "authorization_pending")

	// A short interval tolerates a quarter of itself: a device on a ticker.
	srv.SetCodePairTiming(600*time.Second, 2*time.Second)
	q := newPair(t, srv, "profile")
	requirePollError(t, poll(t, srv, q), "authorization_pending")
	srv.Advance(1500 * time.Millisecond)
	requirePollError(t, poll(t, srv, q), "authorization_pending")
}

func TestDeviceCodeExpires(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile")
	srv.Advance(599 * time.Second)
	requirePollError(t, poll(t, srv, p), "authorization_pending")
	srv.Advance(time.Second)
	requirePollError(t, poll(t, srv, p), "expired_token")
	require.ErrorContains(t, srv.ApproveCode(p.UserCode), "expired")
	srv.Advance(30 * time.Second)
	requirePollError(t, poll(t, srv, p), "expired_token")

	// An approved code that was never collected expires too.
	q := newPair(t, srv, "profile")
	require.NoError(t, srv.ApproveCode(q.UserCode))
	srv.Advance(10 * time.Minute)
	requirePollError(t, poll(t, srv, q), "expired_token")
}

func TestDeviceCodeDenied(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile")
	require.NoError(t, srv.DenyCode(p.UserCode))
	requirePollError(t, poll(t, srv, p), "access_denied")
	srv.Advance(30 * time.Second)
	requirePollError(t, poll(t, srv, p), "access_denied")
	require.ErrorContains(t, srv.ApproveCode(p.UserCode), "already answered")
	require.ErrorContains(t, srv.DenyCode("NOPE42"), "no code pair")
}

func TestDeviceCodeRequestErrors(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile")
	require.NoError(t, srv.ApproveCode(p.UserCode))
	good := pollForm(p)
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"no device_code":      {with(good, "device_code", ""), 400, "invalid_request"},
		"no user_code":        {with(good, "user_code", ""), 400, "invalid_request"},
		"unknown device code": {with(good, "device_code", "00000000-0000-4000-8000-000000000000"), 400, "invalid_grant"},
		"another user code":   {with(good, "user_code", "AAAAAA"), 400, "invalid_grant"},
		"another client":      {with(good, "client_id", otherTV), 400, "invalid_grant"},
		"unknown client":      {with(good, "client_id", "amzn1.application-oa2-client.nobody"), 401, "invalid_client"},
		"RFC 8628 grant type": {with(good, "grant_type", "urn:ietf:params:oauth:grant-type:device_code", "client_id", tvID), 400, "unsupported_grant_type"},
		"repeated parameter":  {url.Values{"grant_type": {"device_code"}, "device_code": {p.DeviceCode, p.DeviceCode}, "user_code": {p.UserCode}}, 400, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			requireOAuthError(t, postToken(t, srv, tc.form, nil), tc.status, tc.code)
		})
	}
	// None of these spent the code; the right client_id is welcome.
	requireTokens(t, postToken(t, srv, with(good, "client_id", tvID), nil))
}

// With AutoApprove (AutoDeny) the customer answers every new code at once:
// the first poll gets the tokens (access_denied).
func TestDeviceCodeAutoConsent(t *testing.T) {
	srv := newDeviceServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	ta := requireTokens(t, poll(t, srv, newPair(t, srv, "profile")))
	prof, ok := srv.Profile(ta.AccessToken)
	require.True(t, ok)
	assert.Equal(t, ada, prof)

	srv.SetConsent(lwatest.AutoDeny)
	requirePollError(t, poll(t, srv, newPair(t, srv, "profile")), "access_denied")
}

// The scopes of the code pair decide the profile's fields, as for the
// browser sign-in.
func TestDeviceCodeScopesDecideProfile(t *testing.T) {
	srv := newDeviceServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	for scope, want := range map[string]string{
		"profile":                     `{"user_id":"` + ada.UserID + `","email":"ada@example.com","name":"Ada Lovelace"}`,
		"profile:user_id":             `{"user_id":"` + ada.UserID + `"}`,
		"profile postal_code":         `{"user_id":"` + ada.UserID + `","email":"ada@example.com","name":"Ada Lovelace","postal_code":"98052"}`,
		"profile:user_id postal_code": `{"user_id":"` + ada.UserID + `","postal_code":"98052"}`,
	} {
		ta := requireTokens(t, poll(t, srv, newPair(t, srv, scope)))
		a := profileBearer(t, srv, ta.AccessToken)
		assert.Equal(t, http.StatusOK, a.Status, scope)
		assert.JSONEq(t, want, a.Body, scope)
	}
	ta := requireTokens(t, poll(t, srv, newPair(t, srv, "postal_code")))
	requireLWAError(t, profileBearer(t, srv, ta.AccessToken), http.StatusUnauthorized, "insufficient_scope", "")
}

// A device refreshes with its client_id alone (it has no secret), like a
// public client, and the refresh token rotates.
func TestDeviceCodeRefresh(t *testing.T) {
	srv := newDeviceServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	ta := requireTokens(t, poll(t, srv, newPair(t, srv, "profile")))
	srv.Advance(61 * time.Minute)
	requireInvalidToken(t, tokenInfo(t, srv, ta.AccessToken))

	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.RefreshToken}, "client_id": {tvID}}
	fresh := requireTokens(t, postToken(t, srv, refresh, nil))
	assert.Equal(t, http.StatusOK, tokenInfo(t, srv, fresh.AccessToken).Status)
	assert.NotEqual(t, ta.RefreshToken, fresh.RefreshToken)
	requireOAuthError(t, postToken(t, srv, with(refresh, "client_id", otherTV), nil), 400, "invalid_grant")
}

// The code-entry page without a browser: the form, a wrong code, the
// consent question, the answer.
func TestCodeEntryPage(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile postal_code")

	a := do(t, srv, http.MethodGet, "/code", nil)
	require.Equal(t, http.StatusOK, a.Status)
	assert.Equal(t, "text/html; charset=utf-8", a.Header.Get("Content-Type"))
	assert.Contains(t, a.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "DENY", a.Header.Get("X-Frame-Options"))
	assert.Contains(t, a.Body, `id="user_code" name="user_code" value=""`)
	assert.Contains(t, a.Body, "Ada Lovelace")
	assert.Contains(t, do(t, srv, http.MethodGet, "/code?user_code=ABC%22DEF", nil).Body, `value="ABC&#34;DEF"`, "prefilled, escaped")

	a = postForm(t, srv, "/code", url.Values{"user_code": {"ZZZZZZ"}})
	assert.Equal(t, http.StatusBadRequest, a.Status)
	assert.Contains(t, a.Body, `id="error">That code is not valid.`)

	// Typed in lower case with a hyphen: still the code.
	typed := strings.ToLower(p.UserCode[:3] + "-" + p.UserCode[3:])
	a = postForm(t, srv, "/code", url.Values{"user_code": {typed}})
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	assert.Contains(t, a.Body, `<h1 id="ask">Ada&#39;s TV would like to access your name, email address and postal code.</h1>`)
	assert.Contains(t, a.Body, `name="user_code" value="`+p.UserCode+`"`)
	assert.Contains(t, a.Body, `id="approve"`)
	requirePollError(t, poll(t, srv, p), "authorization_pending")

	a = postForm(t, srv, "/code", url.Values{"user_code": {p.UserCode}, "decision": {"approve"}})
	require.Equal(t, http.StatusOK, a.Status)
	assert.Contains(t, a.Body, `id="result">Your device is now linked`)
	a = postForm(t, srv, "/code", url.Values{"user_code": {p.UserCode}})
	assert.Equal(t, http.StatusBadRequest, a.Status)
	assert.Contains(t, a.Body, "already been used")
	srv.Advance(30 * time.Second)
	requireTokens(t, poll(t, srv, p))

	q := newPair(t, srv, "profile")
	a = postForm(t, srv, "/code", url.Values{"user_code": {q.UserCode}, "decision": {"deny"}})
	assert.Contains(t, a.Body, `id="result">You denied access.`)
	requirePollError(t, poll(t, srv, q), "access_denied")
	a = postForm(t, srv, "/code", url.Values{"user_code": {q.UserCode}, "decision": {"maybe"}})
	assert.Equal(t, http.StatusBadRequest, a.Status)

	r := newPair(t, srv, "profile")
	srv.Advance(10 * time.Minute)
	a = postForm(t, srv, "/code", url.Values{"user_code": {r.UserCode}})
	assert.Contains(t, a.Body, "That code has expired.")

	a = do(t, srv, http.MethodDelete, "/code", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, a.Status)
	assert.Equal(t, "GET, POST", a.Header.Get("Allow"))
	assert.Equal(t, 10, srv.CallCount(lwatest.EndpointCodeEntry))
}

// The call records of the flow hold no code, token or secret.
func TestDeviceCodeCallRecords(t *testing.T) {
	srv := newDeviceServer(t)
	p := newPair(t, srv, "profile")
	requirePollError(t, poll(t, srv, p), "authorization_pending")
	require.NoError(t, srv.ApproveCode(p.UserCode))
	srv.Advance(30 * time.Second)
	ta := requireTokens(t, poll(t, srv, p))

	cp := srv.Calls(lwatest.EndpointCodePair)
	require.Len(t, cp, 1)
	assert.Equal(t, "none", cp[0].ClientAuth, "client_id alone")
	assert.Equal(t, http.StatusOK, cp[0].Status)
	polls := srv.Calls(lwatest.EndpointToken)
	require.Len(t, polls, 2)
	for _, c := range append(cp, polls...) {
		for _, secret := range []string{p.DeviceCode, p.UserCode, ta.AccessToken, ta.RefreshToken} {
			assert.NotContains(t, fmt.Sprintf("%#v %+v", c, c), secret)
		}
	}
	assert.Equal(t, [2]any{"device_code", ""}, [2]any{polls[1].GrantType, polls[1].ClientAuth}, "no client credentials")
}

// Amazon's own code-based linking guides spell the paths /auth/O2/….
func TestDeviceCodeO2Spelling(t *testing.T) {
	srv := newDeviceServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	a := postForm(t, srv, "/auth/O2/create/codepair", codePairForm("profile"))
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	var p pair
	require.NoError(t, json.Unmarshal([]byte(a.Body), &p))
	requireTokens(t, postForm(t, srv, "/auth/O2/token", pollForm(p)))
}

func TestDeviceRegistration(t *testing.T) {
	srv := newServer(t)
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true}) // no redirect URI needed
	panics(t, func() { srv.RegisterApp(lwatest.App{ClientID: webID}) }, "a web app needs a redirect URI")
	for _, bad := range [][2]time.Duration{{0, time.Second}, {time.Minute, 0}, {time.Minute, 1500 * time.Millisecond}, {-time.Minute, time.Second}} {
		panics(t, func() { srv.SetCodePairTiming(bad[0], bad[1]) }, "SetCodePairTiming(%v, %v)", bad[0], bad[1])
	}
	// A device client cannot use /ap/oa without a redirect URI.
	a := authorizeGET(t, srv, url.Values{"client_id": {tvID}, "scope": {"profile"}, "response_type": {"code"}, "redirect_uri": {"https://tv.example/cb"}})
	assert.Equal(t, http.StatusBadRequest, a.Status)
}
