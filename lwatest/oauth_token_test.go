package lwatest_test

import (
	"context"
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

func TestExchangeConfidentialClient(t *testing.T) {
	for name, send := range map[string]func(*testing.T, *lwatest.Server, string) answer{
		"form fields": func(t *testing.T, srv *lwatest.Server, code string) answer {
			return postToken(t, srv, exchangeForm(code), nil)
		},
		"HTTP Basic": func(t *testing.T, srv *lwatest.Server, code string) answer {
			return postToken(t, srv, with(exchangeForm(code), "client_id", "", "client_secret", ""), &basic{webID, webSecret})
		},
		"HTTP Basic and client_id field": func(t *testing.T, srv *lwatest.Server, code string) answer {
			return postToken(t, srv, with(exchangeForm(code), "client_secret", ""), &basic{webID, webSecret})
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newAuthServer(t)
			ta := requireTokens(t, send(t, srv, codeFor(t, srv, authParams())))
			assert.Equal(t, "no-cache", lastCallHeader(t, srv))

			// An ordinary token: tokeninfo and profile know it.
			a := tokenInfo(t, srv, ta.AccessToken)
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			info := a.JSON(t)
			assert.Equal(t, webID, info["aud"])
			assert.Equal(t, ada.UserID, info["user_id"])
			assert.InDelta(t, 3600, info["exp"], 1)
			a = profileBearer(t, srv, ta.AccessToken)
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			assert.Equal(t, map[string]any{"user_id": ada.UserID, "email": ada.Email, "name": ada.Name, "postal_code": ada.PostalCode}, a.JSON(t))
			// The refresh token is no access token.
			requireInvalidToken(t, tokenInfo(t, srv, ta.RefreshToken))
		})
	}
}

// lastCallHeader is a stand-in to check the Pragma header of the last token
// answer: the call records do not keep headers, so ask again.
func lastCallHeader(t *testing.T, srv *lwatest.Server) string {
	t.Helper()
	a := postToken(t, srv, url.Values{}, nil)
	assert.Equal(t, "no-store", a.Header.Get("Cache-Control"))
	return a.Header.Get("Pragma")
}

func TestExchangePublicClient(t *testing.T) {
	spa := with(authParams(), "client_id", spaID, "redirect_uri", spaRedirect)
	exchange := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {spaRedirect}, "code_verifier": {verifierA}}

	srv := newAuthServer(t)
	ta := requireTokens(t, postToken(t, srv, with(exchange, "code", codeFor(t, srv, spa), "client_id", spaID), nil))
	info := tokenInfo(t, srv, ta.AccessToken).JSON(t)
	assert.Equal(t, spaID, info["aud"])

	// HTTP Basic with an empty password is a public client too (what
	// golang.org/x/oauth2 sends for a Config without ClientSecret).
	requireTokens(t, postToken(t, srv, with(exchange, "code", codeFor(t, srv, spa)), &basic{spaID, ""}))

	// A public client has no secret to send.
	a := postToken(t, srv, with(exchange, "code", codeFor(t, srv, spa), "client_id", spaID, "client_secret", "guess"), nil)
	requireOAuthError(t, a, http.StatusUnauthorized, "invalid_client")
	// ...and always proves PKCE.
	a = postToken(t, srv, with(exchange, "code", codeFor(t, srv, spa), "client_id", spaID, "code_verifier", ""), nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
}

func TestExchangePKCE(t *testing.T) {
	for _, tc := range []struct {
		name     string
		params   url.Values // the authorization request
		verifier string     // the exchange's code_verifier
		ok       bool
	}{
		{"S256 right verifier", authParams(), verifierA, true},
		{"S256 wrong verifier", authParams(), verifierB, false},
		{"S256 no verifier", authParams(), "", false},
		{"S256 challenge sent as verifier", authParams(), s256(verifierA), false},
		{"S256 malformed verifier", authParams(), "short", false},
		{"plain right verifier", with(authParams(), "code_challenge", verifierA, "code_challenge_method", "plain"), verifierA, true},
		{"plain is the default method", with(authParams(), "code_challenge", verifierA, "code_challenge_method", ""), verifierA, true},
		{"plain wrong verifier", with(authParams(), "code_challenge", verifierA, "code_challenge_method", "plain"), verifierB, false},
		{"plain challenge hashed", with(authParams(), "code_challenge", s256(verifierA), "code_challenge_method", "plain"), verifierA, false},
		{"no PKCE (confidential client)", with(authParams(), "code_challenge", "", "code_challenge_method", ""), "", true},
		{"verifier without challenge (downgrade)", with(authParams(), "code_challenge", "", "code_challenge_method", ""), verifierA, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAuthServer(t)
			code := codeFor(t, srv, tc.params)
			a := postToken(t, srv, with(exchangeForm(code), "code_verifier", tc.verifier), nil)
			if tc.ok {
				requireTokens(t, a)
				return
			}
			requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
			// A failed attempt does not consume the code: the rightful
			// client can still exchange it.
			ch, method := tc.params.Get("code_challenge"), tc.params.Get("code_challenge_method")
			if method == "S256" && ch == s256(verifierA) || method != "S256" && ch == verifierA {
				requireTokens(t, postToken(t, srv, with(exchangeForm(code), "code_verifier", verifierA), nil))
			}
		})
	}
}

func TestCodeIsOneTime(t *testing.T) {
	srv := newAuthServer(t)
	code := codeFor(t, srv, authParams())
	first := requireTokens(t, postToken(t, srv, exchangeForm(code), nil))
	require.Equal(t, http.StatusOK, tokenInfo(t, srv, first.AccessToken).Status)

	a := postToken(t, srv, exchangeForm(code), nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
	assert.Contains(t, a.JSON(t)["error_description"], "already been used")

	// A replayed code revokes what it gave (RFC 6749 section 4.1.2).
	requireInvalidToken(t, tokenInfo(t, srv, first.AccessToken))
	a = postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}, "client_id": {webID}, "client_secret": {webSecret}}, nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
}

func TestCodeExpiresAfterFiveMinutes(t *testing.T) {
	srv := newAuthServer(t)
	fresh, stale := codeFor(t, srv, authParams()), codeFor(t, srv, authParams())
	srv.Advance(lwatest.CodeLifetime - time.Second)
	requireTokens(t, postToken(t, srv, exchangeForm(fresh), nil))
	srv.Advance(time.Second)
	a := postToken(t, srv, exchangeForm(stale), nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
	assert.Contains(t, a.JSON(t)["error_description"], "expired")

	// Long-expired codes are forgotten when new ones are minted.
	srv.Advance(time.Hour)
	codeFor(t, srv, authParams())
	requireOAuthError(t, postToken(t, srv, exchangeForm(stale), nil), http.StatusBadRequest, "invalid_grant")
}

func TestExchangeErrors(t *testing.T) {
	spa := with(authParams(), "client_id", spaID, "redirect_uri", spaRedirect)
	for _, tc := range []struct {
		name   string
		form   func(code string) url.Values
		cred   *basic
		status int
		code   string
	}{
		{"wrong redirect URI", func(c string) url.Values { return with(exchangeForm(c), "redirect_uri", "https://app.example/other") }, nil, 400, "invalid_grant"},
		{"another registered redirect URI", func(c string) url.Values { return with(exchangeForm(c), "redirect_uri", spaRedirect) }, nil, 400, "invalid_grant"},
		{"no redirect URI", func(c string) url.Values { return with(exchangeForm(c), "redirect_uri", "") }, nil, 400, "invalid_request"},
		{"unknown code", func(string) url.Values { return with(exchangeForm("ANnotacodeatallnotacode"), "") }, nil, 400, "invalid_grant"},
		{"no code", func(c string) url.Values { return with(exchangeForm(c), "code", "") }, nil, 400, "invalid_request"},
		{"code of another client", func(c string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {spaRedirect}, "code_verifier": {verifierA}, "client_id": {spaID}}
		}, nil, 400, "invalid_grant"},
		{"unknown client", func(c string) url.Values {
			return with(exchangeForm(c), "client_id", "amzn1.application-oa2-client.nobody")
		}, nil, 401, "invalid_client"},
		{"wrong secret", func(c string) url.Values { return with(exchangeForm(c), "client_secret", "wrong") }, nil, 401, "invalid_client"},
		{"wrong secret, Basic", func(c string) url.Values { return with(exchangeForm(c), "client_id", "", "client_secret", "") }, &basic{webID, "wrong"}, 401, "invalid_client"},
		{"no secret", func(c string) url.Values { return with(exchangeForm(c), "client_secret", "") }, nil, 401, "invalid_client"},
		{"no client at all", func(c string) url.Values { return with(exchangeForm(c), "client_id", "", "client_secret", "") }, nil, 401, "invalid_client"},
		{"Basic and client_secret", func(c string) url.Values { return exchangeForm(c) }, &basic{webID, webSecret}, 400, "invalid_request"},
		{"Basic and another client_id", func(c string) url.Values { return with(exchangeForm(c), "client_id", spaID, "client_secret", "") }, &basic{webID, webSecret}, 400, "invalid_request"},
		{"no grant_type", func(c string) url.Values { return with(exchangeForm(c), "grant_type", "") }, nil, 400, "invalid_request"},
		{"password grant", func(c string) url.Values { return with(exchangeForm(c), "grant_type", "password") }, nil, 400, "unsupported_grant_type"},
		{"client_credentials grant", func(c string) url.Values { return with(exchangeForm(c), "grant_type", "client_credentials") }, nil, 400, "unsupported_grant_type"},
		{"code twice", func(c string) url.Values { v := exchangeForm(c); v.Add("code", c); return v }, nil, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAuthServer(t)
			code := codeFor(t, srv, authParams())
			codeFor(t, srv, spa)
			a := postToken(t, srv, tc.form(code), tc.cred)
			requireOAuthError(t, a, tc.status, tc.code)
			if tc.status == http.StatusUnauthorized && tc.cred != nil {
				assert.Equal(t, `Basic realm="lwatest"`, a.Header.Get("WWW-Authenticate"))
			}
			// None of these consumed the code.
			requireTokens(t, postToken(t, srv, exchangeForm(code), nil))
		})
	}
}

func TestTokenEndpointRequestShape(t *testing.T) {
	srv := newAuthServer(t)
	code := codeFor(t, srv, authParams())

	a := do(t, srv, http.MethodGet, "/auth/o2/token?"+exchangeForm(code).Encode(), nil)
	requireOAuthError(t, a, http.StatusMethodNotAllowed, "invalid_request")
	assert.Equal(t, "POST", a.Header.Get("Allow"))

	for _, ct := range []string{"application/json", "", "text/plain"} {
		req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(exchangeForm(code).Encode()))
		require.NoError(t, err)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		a := readAnswer(t, must(srv.Client().Do(req)))
		requireOAuthError(t, a, http.StatusBadRequest, "invalid_request")
	}

	// Bearer is not a client authentication.
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(exchangeForm(code).Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "Bearer Atza|x")
	a = readAnswer(t, must(srv.Client().Do(req)))
	requireOAuthError(t, a, http.StatusUnauthorized, "invalid_client")

	// Too big a body.
	a = postToken(t, srv, with(exchangeForm(code), "padding", strings.Repeat("x", 70<<10)), nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_request")

	// The code survived all that; a charset parameter is fine.
	req, err = http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(exchangeForm(code).Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	requireTokens(t, readAnswer(t, must(srv.Client().Do(req))))
}

// refreshForm is the web app's refresh_token grant.
func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {webID}, "client_secret": {webSecret}}
}

func TestRefreshRotates(t *testing.T) {
	srv := newAuthServer(t)
	first := requireTokens(t, postToken(t, srv, exchangeForm(codeFor(t, srv, authParams())), nil))

	srv.Advance(61 * time.Minute)
	requireInvalidToken(t, tokenInfo(t, srv, first.AccessToken))

	second := requireTokens(t, postToken(t, srv, refreshForm(first.RefreshToken), nil))
	assert.NotEqual(t, first.AccessToken, second.AccessToken, "a new access token")
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken, "and a new refresh token, as Amazon does")
	info := tokenInfo(t, srv, second.AccessToken)
	require.Equal(t, http.StatusOK, info.Status)
	assert.Equal(t, ada.UserID, info.JSON(t)["user_id"])
	assert.Equal(t, http.StatusOK, profileBearer(t, srv, second.AccessToken).Status)

	third := requireTokens(t, postToken(t, srv, with(refreshForm(second.RefreshToken), "client_id", "", "client_secret", ""), &basic{webID, webSecret}))

	// The retired refresh token fails, and its replay revokes the whole
	// authorization: a stolen refresh token is worth nothing once either
	// party uses it twice.
	a := postToken(t, srv, refreshForm(first.RefreshToken), nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
	requireInvalidToken(t, tokenInfo(t, srv, third.AccessToken))
	requireOAuthError(t, postToken(t, srv, refreshForm(third.RefreshToken), nil), http.StatusBadRequest, "invalid_grant")
}

func TestRefreshRefused(t *testing.T) {
	srv := newAuthServer(t)
	ta := requireTokens(t, postToken(t, srv, exchangeForm(codeFor(t, srv, authParams())), nil))

	spaCode := codeFor(t, srv, with(authParams(), "client_id", spaID, "redirect_uri", spaRedirect))
	spaTok := requireTokens(t, postToken(t, srv, url.Values{"grant_type": {"authorization_code"}, "code": {spaCode},
		"redirect_uri": {spaRedirect}, "code_verifier": {verifierA}, "client_id": {spaID}}, nil))

	for name, tc := range map[string]struct {
		form   url.Values
		status int
		code   string
	}{
		"unknown":             {refreshForm("Atzr|unknown"), 400, "invalid_grant"},
		"an access token":     {refreshForm(ta.AccessToken), 400, "invalid_grant"},
		"another client's":    {refreshForm(spaTok.RefreshToken), 400, "invalid_grant"},
		"missing":             {with(refreshForm(""), "refresh_token", ""), 400, "invalid_request"},
		"wrong secret":        {with(refreshForm(ta.RefreshToken), "client_secret", "nope"), 401, "invalid_client"},
		"unknown scope":       {with(refreshForm(ta.RefreshToken), "scope", "openid"), 400, "invalid_scope"},
		"scope beyond grant":  {with(refreshForm(ta.RefreshToken), "scope", "profile:user_id"), 400, "invalid_scope"},
		"public without id":   {url.Values{"grant_type": {"refresh_token"}, "refresh_token": {spaTok.RefreshToken}}, 401, "invalid_client"},
		"refresh token twice": {func() url.Values { v := refreshForm(ta.RefreshToken); v.Add("refresh_token", "x"); return v }(), 400, "invalid_request"},
	} {
		requireOAuthError(t, postToken(t, srv, tc.form, nil), tc.status, tc.code)
		_ = name
	}
	// None of that spent the refresh token...
	ta2 := requireTokens(t, postToken(t, srv, refreshForm(ta.RefreshToken), nil))
	// ...but a revoked one is refused, and revoking it leaves the access
	// tokens alone.
	srv.Revoke(ta2.RefreshToken)
	a := postToken(t, srv, refreshForm(ta2.RefreshToken), nil)
	requireOAuthError(t, a, http.StatusBadRequest, "invalid_grant")
	assert.Contains(t, a.JSON(t)["error_description"], "revoked")
	assert.Equal(t, http.StatusOK, tokenInfo(t, srv, ta2.AccessToken).Status)

	// A public client refreshes with its client_id alone.
	requireTokens(t, postToken(t, srv, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {spaTok.RefreshToken}, "client_id": {spaID}}, nil))
}

func TestRefreshNarrowsScope(t *testing.T) {
	srv := newAuthServer(t)
	ta := requireTokens(t, postToken(t, srv, exchangeForm(codeFor(t, srv, authParams())), nil))
	narrow := requireTokens(t, postToken(t, srv, with(refreshForm(ta.RefreshToken), "scope", "profile"), nil))
	a := profileBearer(t, srv, narrow.AccessToken)
	require.Equal(t, http.StatusOK, a.Status)
	assert.NotContains(t, a.JSON(t), "postal_code")
	// The new refresh token keeps the whole grant.
	wide := requireTokens(t, postToken(t, srv, refreshForm(narrow.RefreshToken), nil))
	assert.Contains(t, profileBearer(t, srv, wide.AccessToken).JSON(t), "postal_code")
}

// The scopes the customer approved decide what the profile endpoint, and so
// a core.Verifier, hands over.
func TestScopesDecideProfileFields(t *testing.T) {
	for _, tc := range []struct {
		scope string
		want  core.Profile
		err   string // the verifier's error code, if it refuses
	}{
		{"profile", core.Profile{UserID: ada.UserID, Email: ada.Email, Name: ada.Name}, ""},
		{"profile postal_code", ada, ""},
		{"profile:user_id", core.Profile{UserID: ada.UserID}, ""},
		{"profile:user_id postal_code", core.Profile{UserID: ada.UserID, PostalCode: ada.PostalCode}, ""},
		{"postal_code", core.Profile{}, "insufficient_scope"},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			srv := newAuthServer(t)
			q := redirectedTo(t, consentPOST(t, srv, with(authParams(), "scope", tc.scope, "decision", "approve")), webRedirect)
			assert.Equal(t, tc.scope, q.Get("scope"))
			ta := requireTokens(t, postToken(t, srv, exchangeForm(q.Get("code")), nil))

			v, err := core.NewVerifier(core.WithClientID(webID), core.WithEndpoint(srv.URL), core.WithHTTPClient(srv.Client()))
			require.NoError(t, err)
			defer v.Close()
			p, err := v.Verify(context.Background(), ta.AccessToken)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, tc.err, core.AsError(err).Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
		})
	}
}

func TestTokenEndpointFailureInjection(t *testing.T) {
	srv := newAuthServer(t)
	code := codeFor(t, srv, authParams())
	srv.Fail(lwatest.EndpointToken, lwatest.Failure{Status: http.StatusServiceUnavailable, Times: 1})
	a := postToken(t, srv, exchangeForm(code), nil)
	assert.Equal(t, http.StatusServiceUnavailable, a.Status)
	requireTokens(t, postToken(t, srv, exchangeForm(code), nil))
	assert.Equal(t, 2, srv.CallCount(lwatest.EndpointToken))
}
