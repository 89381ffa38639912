package lwatest_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// hiddenField reads a hidden input of the consent page.
func hiddenField(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(name) + `" value="([^"]*)">`).FindStringSubmatch(page)
	require.NotNil(t, m, "hidden field %s in\n%s", name, page)
	return html.UnescapeString(m[1])
}

func TestConsentPage(t *testing.T) {
	srv := newAuthServer(t)
	a := authorizeGET(t, srv, authParams())

	require.Equal(t, http.StatusOK, a.Status, a.Body)
	assert.Equal(t, "text/html; charset=utf-8", a.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", a.Header.Get("Cache-Control"))
	assert.Equal(t, "DENY", a.Header.Get("X-Frame-Options"))
	assert.Contains(t, a.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Empty(t, a.Header.Get("Location"))
	assert.Contains(t, a.Body, "Ada&#39;s Shop would like to access your name, email address and postal code.")
	assert.Contains(t, a.Body, `<strong id="customer">Ada Lovelace</strong> (ada@example.com)`)
	assert.Contains(t, a.Body, `<form method="post" action="/ap/oa">`)
	assert.Contains(t, a.Body, `id="approve"`)
	assert.Contains(t, a.Body, `id="deny"`)
	assert.Contains(t, a.Body, "https://app.example")

	// The form carries the request back.
	for k, v := range authParams() {
		assert.Equal(t, v[0], hiddenField(t, a.Body, k), k)
	}
	assert.Equal(t, 0, srv.CallCount(lwatest.EndpointToken))
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointAuthorize))
}

func TestConsentPageScopeWording(t *testing.T) {
	srv := newAuthServer(t)
	for scope, want := range map[string]string{
		"profile":                 "would like to access your name and email address.",
		"profile:user_id":         "would like to access your account identifier.",
		"postal_code":             "would like to access your postal code.",
		"profile:user_id profile": "would like to access your name and email address.",
	} {
		a := authorizeGET(t, srv, with(authParams(), "scope", scope))
		require.Equal(t, http.StatusOK, a.Status, scope)
		assert.Contains(t, a.Body, want, scope)
	}
	// An app without a name is shown by its client ID.
	a := authorizeGET(t, srv, with(authParams(), "client_id", spaID, "redirect_uri", spaRedirect))
	assert.Contains(t, a.Body, spaID+" would like to access")
}

func TestConsentApprove(t *testing.T) {
	srv := newAuthServer(t)
	page := authorizeGET(t, srv, authParams())
	require.Equal(t, http.StatusOK, page.Status)

	// What the browser posts when the customer clicks Allow.
	form := url.Values{"decision": {"approve"}}
	for k := range authParams() {
		form.Set(k, hiddenField(t, page.Body, k))
	}
	q := redirectedTo(t, consentPOST(t, srv, form), webRedirect)
	assert.Equal(t, "st4te", q.Get("state"))
	assert.Equal(t, "profile postal_code", q.Get("scope"))
	assert.Regexp(t, `^AN[A-Za-z]{20}$`, q.Get("code"))
	assert.Empty(t, q.Get("error"))

	ta := requireTokens(t, postToken(t, srv, exchangeForm(q.Get("code")), nil))
	p, ok := srv.Profile(ta.AccessToken)
	require.True(t, ok)
	assert.Equal(t, ada, p)
}

func TestConsentDeny(t *testing.T) {
	srv := newAuthServer(t)
	q := redirectedTo(t, consentPOST(t, srv, with(authParams(), "decision", "deny")), webRedirect)
	assert.Equal(t, "access_denied", q.Get("error"))
	assert.NotEmpty(t, q.Get("error_description"))
	assert.Equal(t, "st4te", q.Get("state"))
	assert.Empty(t, q.Get("code"))
}

func TestConsentBadDecision(t *testing.T) {
	srv := newAuthServer(t)
	for _, d := range []string{"", "maybe"} {
		a := consentPOST(t, srv, with(authParams(), "decision", d))
		assert.Equal(t, http.StatusBadRequest, a.Status, d)
		assert.Empty(t, a.Header.Get("Location"))
		assert.Contains(t, a.Body, `<code id="error">invalid_request</code>`)
	}
}

func TestAutoApproveAndAutoDeny(t *testing.T) {
	srv := newAuthServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	q := redirectedTo(t, authorizeGET(t, srv, authParams()), webRedirect)
	assert.NotEmpty(t, q.Get("code"))
	assert.Equal(t, "st4te", q.Get("state"))

	srv.SetConsent(lwatest.AutoDeny)
	q = redirectedTo(t, authorizeGET(t, srv, authParams()), webRedirect)
	assert.Equal(t, "access_denied", q.Get("error"))

	// The consent form still answers whatever the mode.
	q = redirectedTo(t, consentPOST(t, srv, with(authParams(), "decision", "approve")), webRedirect)
	assert.NotEmpty(t, q.Get("code"))

	srv.SetConsent(lwatest.AskConsent)
	assert.Equal(t, http.StatusOK, authorizeGET(t, srv, authParams()).Status)

	assert.Panics(t, func() { srv.SetConsent(lwatest.Consent(7)) })
}

// An untrustworthy client or redirect URI gets an error page, never a
// redirect: the server must not send the customer (or a code) to an address
// the app did not register.
func TestAuthorizeErrorPage(t *testing.T) {
	for name, params := range map[string]url.Values{
		"no client_id":            with(authParams(), "client_id", ""),
		"unknown client":          with(authParams(), "client_id", "amzn1.application-oa2-client.nobody"),
		"no redirect_uri":         with(authParams(), "redirect_uri", ""),
		"unregistered":            with(authParams(), "redirect_uri", "https://evil.example/callback"),
		"prefix of registered":    with(authParams(), "redirect_uri", "https://app.example/"),
		"registered plus path":    with(authParams(), "redirect_uri", webRedirect+"/more"),
		"registered plus query":   with(authParams(), "redirect_uri", webRedirect+"?x=1"),
		"another app's":           with(authParams(), "redirect_uri", spaRedirect),
		"client_id twice":         func() url.Values { v := authParams(); v.Add("client_id", webID); return v }(),
		"redirect_uri twice":      func() url.Values { v := authParams(); v.Add("redirect_uri", webRedirect); return v }(),
		"bad everything else too": with(authParams(), "client_id", "x", "response_type", "token", "scope", "nope"),
	} {
		t.Run(name, func(t *testing.T) {
			srv := newAuthServer(t)
			for _, a := range []answer{authorizeGET(t, srv, params), consentPOST(t, srv, with(params, "decision", "approve"))} {
				assert.Equal(t, http.StatusBadRequest, a.Status)
				assert.Empty(t, a.Header.Get("Location"), "never a redirect")
				assert.Equal(t, "text/html; charset=utf-8", a.Header.Get("Content-Type"))
				assert.Regexp(t, `<code id="error">invalid_(request|client)</code>`, a.Body)
				assert.NotContains(t, a.Body, "evil.example")
			}
		})
	}
}

// Once client and redirect URI are known good, errors go back to the app
// (RFC 6749 section 4.1.2.1), with the state.
func TestAuthorizeErrorRedirect(t *testing.T) {
	spa := with(authParams(), "client_id", spaID, "redirect_uri", spaRedirect)
	for _, tc := range []struct {
		name   string
		params url.Values
		code   string
		to     string
	}{
		{"no response_type", with(authParams(), "response_type", ""), "invalid_request", webRedirect},
		{"implicit grant", with(authParams(), "response_type", "token"), "unsupported_response_type", webRedirect},
		{"no scope", with(authParams(), "scope", ""), "invalid_scope", webRedirect},
		{"blank scope", with(authParams(), "scope", "  "), "invalid_scope", webRedirect},
		{"unknown scope", with(authParams(), "scope", "profile openid"), "invalid_scope", webRedirect},
		{"method without challenge", with(authParams(), "code_challenge", ""), "invalid_request", webRedirect},
		{"unknown method", with(authParams(), "code_challenge_method", "S512"), "invalid_request", webRedirect},
		{"lowercase method", with(authParams(), "code_challenge_method", "s256"), "invalid_request", webRedirect},
		{"short challenge", with(authParams(), "code_challenge", "abc"), "invalid_request", webRedirect},
		{"challenge with bad characters", with(authParams(), "code_challenge", s256(verifierA)[:42]+"+"), "invalid_request", webRedirect},
		{"scope twice", func() url.Values { v := authParams(); v.Add("scope", "profile"); return v }(), "invalid_request", webRedirect},
		{"public client without PKCE", with(spa, "code_challenge", "", "code_challenge_method", ""), "invalid_request", spaRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAuthServer(t)
			srv.SetConsent(lwatest.AutoApprove)
			for _, a := range []answer{authorizeGET(t, srv, tc.params), consentPOST(t, srv, with(tc.params, "decision", "approve"))} {
				q := redirectedTo(t, a, tc.to)
				assert.Equal(t, tc.code, q.Get("error"))
				assert.NotEmpty(t, q.Get("error_description"))
				assert.Equal(t, "st4te", q.Get("state"))
				assert.Empty(t, q.Get("code"))
			}
		})
	}
}

func TestAuthorizeNoStateNoStateBack(t *testing.T) {
	srv := newAuthServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	a := authorizeGET(t, srv, with(authParams(), "state", ""))
	q := redirectedTo(t, a, webRedirect)
	assert.NotContains(t, q, "state")
}

func TestAuthorizeMethods(t *testing.T) {
	srv := newAuthServer(t)
	for _, m := range []string{http.MethodPut, http.MethodDelete} {
		req, err := http.NewRequest(m, srv.AuthURL()+"?"+authParams().Encode(), nil)
		require.NoError(t, err)
		a := readAnswer(t, must(srv.Client().Do(req)))
		assert.Equal(t, http.StatusMethodNotAllowed, a.Status)
		assert.Equal(t, "GET, POST", a.Header.Get("Allow"))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRegisterAppPanics(t *testing.T) {
	srv := newServer(t)
	for name, app := range map[string]lwatest.App{
		"no client ID":   {RedirectURIs: []string{webRedirect}},
		"no redirect":    {ClientID: webID},
		"relative":       {ClientID: webID, RedirectURIs: []string{"/callback"}},
		"fragment":       {ClientID: webID, RedirectURIs: []string{webRedirect + "#x"}},
		"not http":       {ClientID: webID, RedirectURIs: []string{"javascript:alert(1)"}},
		"custom scheme":  {ClientID: webID, RedirectURIs: []string{"myapp://callback"}},
		"no host":        {ClientID: webID, RedirectURIs: []string{"http:///callback"}},
		"one of two bad": {ClientID: webID, RedirectURIs: []string{webRedirect, "nope"}},
	} {
		assert.Panics(t, func() { srv.RegisterApp(app) }, name)
	}
}

func TestRegisterAppReplaces(t *testing.T) {
	srv := newAuthServer(t)
	srv.RegisterApp(lwatest.App{ClientID: webID, ClientSecret: "new", RedirectURIs: []string{"https://new.example/cb"}})
	a := authorizeGET(t, srv, authParams())
	assert.Equal(t, http.StatusBadRequest, a.Status, "the old redirect URI is gone")
	a = authorizeGET(t, srv, with(authParams(), "redirect_uri", "https://new.example/cb"))
	assert.Equal(t, http.StatusOK, a.Status)
}

func TestRegisterAppCopiesRedirectURIs(t *testing.T) {
	srv := newServer(t)
	uris := []string{webRedirect}
	srv.RegisterApp(lwatest.App{ClientID: webID, ClientSecret: webSecret, RedirectURIs: uris})
	uris[0] = "https://evil.example/"
	assert.Equal(t, http.StatusOK, authorizeGET(t, srv, authParams()).Status)
}

func TestSetCustomer(t *testing.T) {
	srv := newServer(t)
	assert.Equal(t, lwatest.DefaultCustomer(), srv.Customer())

	srv.SetCustomer(core.Profile{Name: "Grace"})
	c := srv.Customer()
	assert.Regexp(t, `^amzn1\.account\.[A-Z0-9]{28}$`, c.UserID)
	assert.Equal(t, "Grace", c.Name)

	// Codes keep the customer who approved them.
	srv.RegisterApp(lwatest.App{ClientID: webID, ClientSecret: webSecret, RedirectURIs: []string{webRedirect}})
	code := codeFor(t, srv, authParams())
	srv.SetCustomer(ada)
	ta := requireTokens(t, postToken(t, srv, exchangeForm(code), nil))
	p, _ := srv.Profile(ta.AccessToken)
	assert.Equal(t, c, p)
}

func TestAuthURLs(t *testing.T) {
	srv := newServer(t)
	assert.Equal(t, srv.URL+"/ap/oa", srv.AuthURL())
	assert.Equal(t, srv.URL+"/auth/o2/token", srv.TokenURL())
	assert.Equal(t, "/ap/oa", lwatest.EndpointAuthorize.Path())
	assert.Equal(t, "/auth/o2/token", lwatest.EndpointToken.Path())
	assert.Equal(t, "authorize", lwatest.EndpointAuthorize.String())
	assert.Equal(t, "token", lwatest.EndpointToken.String())
}

// The call records show how the client authenticated and which grant it
// used, never a code, secret or token.
func TestAuthorizationCallRecords(t *testing.T) {
	srv := newAuthServer(t)
	code := codeFor(t, srv, authParams())
	ta := requireTokens(t, postToken(t, srv, with(exchangeForm(code), "client_id", "", "client_secret", ""), &basic{webID, webSecret}))
	requireTokens(t, postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.RefreshToken},
		"client_id": {webID}, "client_secret": {webSecret}}, nil))
	spaCode := codeFor(t, srv, with(authParams(), "client_id", spaID, "redirect_uri", spaRedirect))
	requireTokens(t, postToken(t, srv, url.Values{"grant_type": {"authorization_code"}, "code": {spaCode},
		"redirect_uri": {spaRedirect}, "code_verifier": {verifierA}, "client_id": {spaID}}, nil))
	postToken(t, srv, url.Values{"grant_type": {"password"}}, nil)

	calls := srv.Calls(lwatest.EndpointToken)
	require.Len(t, calls, 4)
	got := make([][3]any, len(calls))
	for i, c := range calls {
		got[i] = [3]any{c.Status, c.GrantType, c.ClientAuth}
		assert.Empty(t, c.TokenFrom)
		assert.Equal(t, http.MethodPost, c.Method)
		assert.False(t, c.End.IsZero())
		assert.Regexp(t, requestIDRE, c.RequestID)
		for _, secret := range []string{code, spaCode, webSecret, ta.AccessToken, ta.RefreshToken} {
			assert.NotContains(t, fmt.Sprintf("%#v", c), secret)
		}
	}
	assert.Equal(t, [][3]any{
		{200, "authorization_code", "basic"},
		{200, "refresh_token", "form"},
		{200, "authorization_code", "none"},
		{401, "password", ""},
	}, got)

	auth := srv.Calls(lwatest.EndpointAuthorize)
	require.Len(t, auth, 2)
	assert.Equal(t, http.MethodPost, auth[0].Method)
	assert.Equal(t, http.StatusFound, auth[0].Status)
	assert.Empty(t, auth[0].TokenFrom)
	assert.Empty(t, auth[0].GrantType)
}
