package lwatest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Two apps on every authorization server of the tests: a confidential web
// server and a public browser app.
const (
	webID       = "amzn1.application-oa2-client.web00000000000000"
	webSecret   = "web-secret-0123456789"
	webRedirect = "https://app.example/callback"
	spaID       = "amzn1.application-oa2-client.spa00000000000000"
	spaRedirect = "http://127.0.0.1:8080/callback?from=spa"

	// verifierA is a valid PKCE code_verifier (43 characters).
	verifierA = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	verifierB = "otherVerifier-otherVerifier-otherVerifier-x"
)

var ada = core.Profile{
	UserID:     "amzn1.account.ADA0000000000000000000000000",
	Email:      "ada@example.com",
	Name:       "Ada Lovelace",
	PostalCode: "98052",
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newAuthServer starts a fake with the two apps registered and Ada as the
// customer.
func newAuthServer(t *testing.T) *lwatest.Server {
	t.Helper()
	srv := newServer(t)
	srv.RegisterApp(lwatest.App{ClientID: webID, ClientSecret: webSecret, RedirectURIs: []string{webRedirect}, Name: "Ada's Shop"})
	srv.RegisterApp(lwatest.App{ClientID: spaID, RedirectURIs: []string{spaRedirect}})
	srv.SetCustomer(ada)
	return srv
}

// authParams are the parameters of a valid authorization request of the web
// app with PKCE S256 over verifierA.
func authParams() url.Values {
	return url.Values{
		"client_id":             {webID},
		"scope":                 {"profile postal_code"},
		"response_type":         {"code"},
		"redirect_uri":          {webRedirect},
		"state":                 {"st4te"},
		"code_challenge":        {s256(verifierA)},
		"code_challenge_method": {"S256"},
	}
}

// with returns a copy of v with the given key/value pairs set; an empty
// value deletes the key.
func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

// noFollow returns the server's client, not following redirects.
func noFollow(srv *lwatest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// authorizeGET sends the authorization request, not following redirects.
func authorizeGET(t *testing.T, srv *lwatest.Server, params url.Values) answer {
	t.Helper()
	resp, err := noFollow(srv).Get(srv.AuthURL() + "?" + params.Encode())
	require.NoError(t, err)
	return readAnswer(t, resp)
}

// consentPOST posts the consent form, not following redirects.
func consentPOST(t *testing.T, srv *lwatest.Server, form url.Values) answer {
	t.Helper()
	resp, err := noFollow(srv).PostForm(srv.AuthURL(), form)
	require.NoError(t, err)
	return readAnswer(t, resp)
}

// redirectedTo checks a 302 back to wantBase and returns its query.
func redirectedTo(t *testing.T, a answer, wantBase string) url.Values {
	t.Helper()
	require.Equal(t, http.StatusFound, a.Status, a.Body)
	loc, err := url.Parse(a.Header.Get("Location"))
	require.NoError(t, err)
	q := loc.Query()
	base := *loc
	base.RawQuery = ""
	wb, err := url.Parse(wantBase)
	require.NoError(t, err)
	for k, v := range wb.Query() { // the registered URI's own query stays
		require.Equal(t, v, q[k], "redirect keeps the query parameter %s", k)
		q.Del(k)
	}
	wb.RawQuery = ""
	require.Equal(t, wb.String(), base.String(), "redirect target")
	return q
}

// codeFor approves params at once and returns the code.
func codeFor(t *testing.T, srv *lwatest.Server, params url.Values) string {
	t.Helper()
	a := consentPOST(t, srv, with(params, "decision", "approve"))
	q := redirectedTo(t, a, params.Get("redirect_uri"))
	require.NotEmpty(t, q.Get("code"))
	return q.Get("code")
}

// basic holds HTTP Basic credentials for postToken.
type basic struct{ id, secret string }

// postToken posts form to the token endpoint, with Basic credentials when
// cred is not nil.
func postToken(t *testing.T, srv *lwatest.Server, form url.Values, cred *basic) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cred != nil {
		req.SetBasicAuth(url.QueryEscape(cred.id), url.QueryEscape(cred.secret))
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	return readAnswer(t, resp)
}

// exchangeForm is the web app's code exchange with credentials in the form.
func exchangeForm(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {webRedirect},
		"code_verifier": {verifierA},
		"client_id":     {webID},
		"client_secret": {webSecret},
	}
}

// tokenAnswer is the token endpoint's success body.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// requireTokens checks a success answer of the token endpoint.
func requireTokens(t *testing.T, a answer) tokenAnswer {
	t.Helper()
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	require.Equal(t, "application/json", a.Header.Get("Content-Type"))
	require.Equal(t, "no-store", a.Header.Get("Cache-Control"))
	m := a.JSON(t)
	require.ElementsMatch(t, []string{"access_token", "token_type", "expires_in", "refresh_token"}, keys(m))
	var ta tokenAnswer
	require.NoError(t, json.Unmarshal([]byte(a.Body), &ta))
	require.Regexp(t, `^Atza\|[A-Za-z0-9_-]{350,}$`, ta.AccessToken)
	require.Regexp(t, `^Atzr\|[A-Za-z0-9_-]{350,}$`, ta.RefreshToken)
	require.Equal(t, "bearer", ta.TokenType)
	require.Equal(t, 3600, ta.ExpiresIn)
	return ta
}

// requireOAuthError checks an error answer of the token endpoint.
func requireOAuthError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	require.Equal(t, status, a.Status, a.Body)
	require.Equal(t, "application/json;charset=UTF-8", a.Header.Get("Content-Type"))
	m := a.JSON(t)
	require.Equal(t, code, m["error"], a.Body)
	require.NotEmpty(t, m["error_description"])
	require.NotContains(t, m, "access_token")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
