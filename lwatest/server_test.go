package lwatest_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNewServerListensOnLoopback(t *testing.T) {
	srv := newServer(t)
	matches(t, srv.URL, `^http://127\.0\.0\.1:\d+$`)
}

func TestNewTLSServer(t *testing.T) {
	srv := lwatest.NewTLSServer()
	t.Cleanup(srv.Close)
	matches(t, srv.URL, `^https://127\.0\.0\.1:\d+$`)
	a := tokenInfo(t, srv, srv.Issue(clientID, alice))
	mustEqual(t, a.Status, http.StatusOK, a.Body)
	equal[any](t, a.JSON(t)["aud"], clientID)
}

func TestIssueTokenShape(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	matches(t, tok, `^Atza\|[A-Za-z0-9_-]+$`)
	check(t, len(tok) >= 350 && len(tok) <= 2048, "length %d", len(tok))
	check(t, tok != srv.Issue(clientID, alice), "tokens must be random")
}

func TestTokenInfoValid(t *testing.T) {
	srv := newServer(t)
	before := srv.Now().Unix()
	tok := srv.Issue(clientID, alice)
	after := srv.Now().Unix()

	a := tokenInfo(t, srv, tok)
	mustEqual(t, a.Status, http.StatusOK, a.Body)
	equal(t, a.Header.Get("Content-Type"), "application/json")
	matches(t, a.Header.Get("x-amzn-RequestId"), requestIDRE.String())

	var ti struct {
		Iss    string `json:"iss"`
		UserID string `json:"user_id"`
		Aud    string `json:"aud"`
		AppID  string `json:"app_id"`
		Exp    int64  `json:"exp"`
		Iat    int64  `json:"iat"`
	}
	dec := json.NewDecoder(strings.NewReader(a.Body))
	dec.DisallowUnknownFields()
	noErr(t, dec.Decode(&ti))
	equal(t, ti.Iss, "https://www.amazon.com")
	equal(t, ti.UserID, alice.UserID)
	equal(t, ti.Aud, clientID)
	matches(t, ti.AppID, `^amzn1\.application\.[0-9a-f]{32}$`)
	near(t, float64(ti.Exp), 3599, 1, "exp is seconds remaining of a one-hour token")
	check(t, before <= ti.Iat && ti.Iat <= after, "iat %d not in [%d, %d]", ti.Iat, before, after)
	// Fields in Amazon's order, exp and iat as integers.
	matches(t, a.Body, `^\{"iss":".*","user_id":".*","aud":".*","app_id":".*","exp":\d+,"iat":\d+\}$`)
}

func TestTokenInfoAppID(t *testing.T) {
	srv := newServer(t)
	appID := func(tok string) any { return tokenInfo(t, srv, tok).JSON(t)["app_id"] }

	web := appID(srv.Issue(clientID, alice))
	equal(t, appID(srv.Issue(clientID, alice)), web, "one client ID, one default app_id")
	check(t, appID(srv.Issue("amzn1.application-oa2-client.other", alice)) != web, "another client ID, another app_id")
	equal[any](t, appID(srv.Issue(clientID, alice, lwatest.WithAppID("amzn1.application.custom"))), "amzn1.application.custom")
}

func TestGeneratedUserID(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, core.Profile{Email: "bob@example.com", Name: "Bob"})

	p, ok := srv.Profile(tok)
	mustEqual(t, ok, true, "Profile ok")
	matches(t, p.UserID, `^amzn1\.account\.[A-Z0-9]{20,}$`)
	equal(t, p.Email, "bob@example.com")

	equal[any](t, tokenInfo(t, srv, tok).JSON(t)["user_id"], p.UserID, "tokeninfo user_id")
	equal[any](t, profileBearer(t, srv, tok).JSON(t)["user_id"], p.UserID, "profile user_id")

	p2, _ := srv.Profile(srv.Issue(clientID, core.Profile{}))
	check(t, p2.UserID != p.UserID, "generated user IDs must differ")

	_, ok = srv.Profile("Atza|never-issued")
	equal(t, ok, false, "Profile of an unknown token")
}

func TestTokenInfoUnknownToken(t *testing.T) {
	srv := newServer(t)
	requireInvalidToken(t, tokenInfo(t, srv, "Atza|never-issued"))
}

func TestTokenInfoMissingToken(t *testing.T) {
	srv := newServer(t)
	requireMissingToken(t, do(t, srv, http.MethodGet, "/auth/o2/tokeninfo", nil))
	requireMissingToken(t, do(t, srv, http.MethodGet, "/auth/o2/tokeninfo?access_token=", nil))

	// tokeninfo reads the query only, never headers.
	tok := srv.Issue(clientID, alice)
	requireMissingToken(t, do(t, srv, http.MethodGet, "/auth/o2/tokeninfo", http.Header{
		"Authorization":      {"Bearer " + tok},
		"X-Amz-Access-Token": {tok},
	}))
}

func TestTokenWithSpecialCharacters(t *testing.T) {
	srv := newServer(t)
	const tok = "Atza|a+b/c=d&e%f%7C-_"
	mustEqual(t, srv.Issue(clientID, alice, lwatest.WithToken(tok)), tok)

	a := tokenInfo(t, srv, tok)
	mustEqual(t, a.Status, http.StatusOK, a.Body)
	equal[any](t, a.JSON(t)["aud"], clientID)

	// A client that leaves '+' unescaped sends a space: another token.
	requireInvalidToken(t, do(t, srv, http.MethodGet,
		"/auth/o2/tokeninfo?access_token="+strings.ReplaceAll(url.QueryEscape(tok), "%2B", "+"), nil))

	equal(t, do(t, srv, http.MethodGet, "/user/profile?access_token="+url.QueryEscape(tok), nil).Status, http.StatusOK, "profile, query")
	equal(t, profileBearer(t, srv, tok).Status, http.StatusOK, "profile, bearer")
	equal(t, do(t, srv, http.MethodGet, "/user/profile", http.Header{"X-Amz-Access-Token": {tok}}).Status, http.StatusOK, "profile, x-amz-access-token")
}

func TestWithTokenEmptyPanics(t *testing.T) {
	srv := newServer(t)
	panics(t, func() { srv.Issue(clientID, alice, lwatest.WithToken("")) })
}

func TestWithTokenReissueReplaces(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice, lwatest.WithToken("Atza|fixed"))
	srv.Revoke(tok)
	srv.Issue("amzn1.application-oa2-client.other", alice, lwatest.WithToken("Atza|fixed"))
	a := tokenInfo(t, srv, tok)
	mustEqual(t, a.Status, http.StatusOK, a.Body)
	equal[any](t, a.JSON(t)["aud"], "amzn1.application-oa2-client.other")
}

func TestProfileTokenPlacements(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	want := map[string]any{
		"user_id": alice.UserID, "email": alice.Email, "name": alice.Name, "postal_code": alice.PostalCode,
	}
	for name, tc := range map[string]struct {
		query  string
		header http.Header
		from   string
	}{
		"Bearer":             {header: http.Header{"Authorization": {"Bearer " + tok}}, from: "authorization"},
		"lowercase bearer":   {header: http.Header{"Authorization": {"bearer " + tok}}, from: "authorization"},
		"uppercase BEARER":   {header: http.Header{"Authorization": {"BEARER  " + tok + " "}}, from: "authorization"},
		"x-amz-access-token": {header: http.Header{"X-Amz-Access-Token": {tok}}, from: "x-amz-access-token"},
		"query":              {query: "?access_token=" + url.QueryEscape(tok), from: "query"},
		"same token twice": {
			query:  "?access_token=" + url.QueryEscape(tok),
			header: http.Header{"Authorization": {"Bearer " + tok}},
			from:   "query,authorization",
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv.ResetCalls()
			a := do(t, srv, http.MethodGet, "/user/profile"+tc.query, tc.header)
			mustEqual(t, a.Status, http.StatusOK, a.Body)
			equal(t, a.Header.Get("Content-Type"), "application/json")
			equal(t, a.Header.Get("Content-Language"), "en-US")
			matches(t, a.Header.Get("x-amzn-RequestId"), requestIDRE.String())
			deepEqual(t, a.JSON(t), want)
			calls := srv.Calls(lwatest.EndpointProfile)
			mustEqual(t, len(calls), 1, "calls")
			equal(t, calls[0].TokenFrom, tc.from, "TokenFrom")
		})
	}
}

func TestProfileMalformedRequests(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	other := srv.Issue(clientID, alice)
	for name, tc := range map[string]struct {
		query  string
		header http.Header
	}{
		"Basic scheme":          {header: http.Header{"Authorization": {"Basic " + tok}}},
		"Bearer alone":          {header: http.Header{"Authorization": {"Bearer"}}},
		"Bearer two words":      {header: http.Header{"Authorization": {"Bearer " + tok + " x"}}},
		"two Authorization":     {header: http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}}},
		"query and header":      {query: "?access_token=" + url.QueryEscape(other), header: http.Header{"Authorization": {"Bearer " + tok}}},
		"header and amz differ": {header: http.Header{"Authorization": {"Bearer " + tok}, "X-Amz-Access-Token": {other}}},
	} {
		t.Run(name, func(t *testing.T) {
			requireLWAError(t, do(t, srv, http.MethodGet, "/user/profile"+tc.query, tc.header),
				http.StatusBadRequest, "invalid_request", "")
		})
	}
}

func TestProfileMissingToken(t *testing.T) {
	srv := newServer(t)
	requireMissingToken(t, do(t, srv, http.MethodGet, "/user/profile", nil))
	requireMissingToken(t, do(t, srv, http.MethodGet, "/user/profile?access_token=", nil))
	requireMissingToken(t, do(t, srv, http.MethodGet, "/user/profile", http.Header{"X-Amz-Access-Token": {""}}))
}

func TestProfileUnknownToken(t *testing.T) {
	srv := newServer(t)
	requireInvalidToken(t, profileBearer(t, srv, "Atza|never-issued"))
	requireInvalidToken(t, do(t, srv, http.MethodGet, "/user/profile", http.Header{"X-Amz-Access-Token": {"Atza|never-issued"}}))
	requireInvalidToken(t, do(t, srv, http.MethodGet, "/user/profile?access_token=Atza%7Cnever-issued", nil))
}

func TestProfileScopes(t *testing.T) {
	srv := newServer(t)
	noName := alice
	noName.Name = ""
	scopes := lwatest.WithScopes
	for name, tc := range map[string]struct {
		profile core.Profile
		opts    []lwatest.TokenOption
		want    map[string]any // nil: 401 insufficient_scope
	}{
		"default scopes": {profile: alice, want: map[string]any{
			"user_id": alice.UserID, "email": alice.Email, "name": alice.Name, "postal_code": alice.PostalCode}},
		"profile": {profile: alice, opts: []lwatest.TokenOption{scopes("profile")}, want: map[string]any{
			"user_id": alice.UserID, "email": alice.Email, "name": alice.Name}},
		"profile:user_id": {profile: alice, opts: []lwatest.TokenOption{scopes("profile:user_id")}, want: map[string]any{
			"user_id": alice.UserID}},
		"profile:user_id and postal_code": {profile: alice, opts: []lwatest.TokenOption{scopes("profile:user_id", "postal_code")}, want: map[string]any{
			"user_id": alice.UserID, "postal_code": alice.PostalCode}},
		"empty fields are omitted": {profile: noName, want: map[string]any{
			"user_id": alice.UserID, "email": alice.Email, "postal_code": alice.PostalCode}},
		"postal_code only": {profile: alice, opts: []lwatest.TokenOption{scopes("postal_code")}},
		"no scope":         {profile: alice, opts: []lwatest.TokenOption{scopes()}},
	} {
		t.Run(name, func(t *testing.T) {
			tok := srv.Issue(clientID, tc.profile, tc.opts...)
			a := profileBearer(t, srv, tok)
			if tc.want == nil {
				requireLWAError(t, a, http.StatusUnauthorized, "insufficient_scope",
					"The access token provided does not have access to the required scope.")
			} else {
				mustEqual(t, a.Status, http.StatusOK, a.Body)
				deepEqual(t, a.JSON(t), tc.want)
			}
			// tokeninfo does not depend on scopes.
			equal(t, tokenInfo(t, srv, tok).Status, http.StatusOK, "tokeninfo")
		})
	}
}

func TestRevoke(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	keep := srv.Issue(clientID, alice)
	mustEqual(t, tokenInfo(t, srv, tok).Status, http.StatusOK)

	srv.Revoke(tok)
	requireInvalidToken(t, tokenInfo(t, srv, tok))
	requireInvalidToken(t, profileBearer(t, srv, tok))
	equal(t, tokenInfo(t, srv, keep).Status, http.StatusOK, "other token, tokeninfo")
	equal(t, profileBearer(t, srv, keep).Status, http.StatusOK, "other token, profile")

	srv.Revoke("Atza|never-issued") // no panic, no effect
}

func TestExpire(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	keep := srv.Issue(clientID, alice)
	mustEqual(t, profileBearer(t, srv, tok).Status, http.StatusOK)

	srv.Expire(tok)
	requireInvalidToken(t, tokenInfo(t, srv, tok))
	requireInvalidToken(t, profileBearer(t, srv, tok))
	equal(t, tokenInfo(t, srv, keep).Status, http.StatusOK, "other token")

	srv.Expire("Atza|never-issued") // no panic, no effect
}

func TestLifetimeAndAdvance(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice, lwatest.WithLifetime(10*time.Minute))
	exp := func() float64 {
		t.Helper()
		a := tokenInfo(t, srv, tok)
		mustEqual(t, a.Status, http.StatusOK, a.Body)
		return a.JSON(t)["exp"].(float64)
	}
	near(t, exp(), 599, 1, "exp")

	start := srv.Now()
	srv.Advance(4 * time.Minute)
	near(t, srv.Now().Sub(start).Seconds(), 240, 1, "Now after Advance")
	near(t, exp(), 359, 1, "exp after Advance")

	srv.Advance(6*time.Minute - 500*time.Millisecond) // under a second left: exp rounds down to 0
	requireInvalidToken(t, tokenInfo(t, srv, tok))
	requireInvalidToken(t, profileBearer(t, srv, tok))

	fresh := srv.Issue(clientID, alice) // issued on the advanced clock
	a := tokenInfo(t, srv, fresh)
	mustEqual(t, a.Status, http.StatusOK)
	near(t, a.JSON(t)["iat"].(float64), float64(srv.Now().Unix()), 1, "iat on the server clock")

	panics(t, func() { srv.Advance(-time.Second) })
}

func TestShortLifetimeIsExpired(t *testing.T) {
	srv := newServer(t)
	requireInvalidToken(t, tokenInfo(t, srv, srv.Issue(clientID, alice, lwatest.WithLifetime(900*time.Millisecond))))
}

func TestRoutes(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)

	for _, path := range []string{"/", "/auth/o2/tokeninfo/", "/user/profile/x", "/auth/o2/token/x", "/ap/oa/x"} {
		a := do(t, srv, http.MethodGet, path+"?access_token="+url.QueryEscape(tok), nil)
		requireLWAError(t, a, http.StatusNotFound, "not_found", "")
	}
	equal(t, srv.CallCount(lwatest.EndpointTokenInfo), 0, "unknown paths are not tokeninfo calls")
	equal(t, srv.CallCount(lwatest.EndpointProfile), 0, "unknown paths are not profile calls")

	for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
		for _, method := range []string{http.MethodPost, http.MethodHead, http.MethodDelete} {
			a := do(t, srv, method, ep.Path()+"?access_token="+url.QueryEscape(tok), nil)
			mustEqual(t, a.Status, http.StatusMethodNotAllowed, "%s %s", method, ep)
			equal(t, a.Header.Get("Allow"), "GET")
			matches(t, a.Header.Get("x-amzn-RequestId"), requestIDRE.String())
			if method != http.MethodHead {
				requireLWAError(t, a, http.StatusMethodNotAllowed, "invalid_request", "")
			}
		}
	}
	equal(t, srv.CallCount(lwatest.EndpointTokenInfo), 3, "405s are counted")
}

func TestRequestIDsAreFresh(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	seen := map[string]bool{}
	for range 20 {
		rid := tokenInfo(t, srv, tok).Header.Get("x-amzn-RequestId")
		matches(t, rid, requestIDRE.String())
		check(t, !seen[rid], "request ID %s repeated", rid)
		seen[rid] = true
	}
}

func TestRequestIDHeaderSpelling(t *testing.T) {
	srv := newServer(t)
	// Read the raw answer: Amazon spells the header x-amzn-RequestId (the Go
	// client would canonicalise it).
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	noErr(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	noErr(t, err)
	raw, err := io.ReadAll(conn)
	noErr(t, err)
	matches(t, string(raw), `\r\nx-amzn-RequestId: [0-9a-f-]{36}\r\n`)
	equal(t, strings.Count(strings.ToLower(string(raw)), "x-amzn-requestid:"), 1, "one request ID header")
}

func TestEndpointString(t *testing.T) {
	equal(t, lwatest.EndpointTokenInfo.String(), "tokeninfo")
	equal(t, lwatest.EndpointProfile.String(), "profile")
	equal(t, lwatest.Endpoint(7).String(), "Endpoint(7)")
	equal(t, lwatest.EndpointTokenInfo.Path(), "/auth/o2/tokeninfo")
	equal(t, lwatest.EndpointProfile.Path(), "/user/profile")
}

func TestCloseIsIdempotentAndStopsServing(t *testing.T) {
	srv := lwatest.NewServer()
	client := srv.Client()
	srv.Close()
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/auth/o2/tokeninfo", nil)
	noErr(t, err)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	check(t, err != nil, "request after Close succeeded")
}
