package conformance

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

// testExtraction: every rule of token extraction, accepted and rejected.
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

// testTokenSources: custom headers and cookies carry the token, in addition
// to or instead of the documented sources, with the same rules; several of
// each may be configured.
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
	t.Run("several headers and cookies", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenHeader(header, "X-Device-Token"), core.WithTokenCookie(cookie),
			core.WithTokenCookie("lwa_tv"))
		tok, p := e.issue("alice")
		other, _ := e.issue("bob")
		e.accept(t, e.get(t, "", "X-Device-Token", tok), &p)
		e.accept(t, e.get(t, "", "Cookie", "lwa_tv="+tok), &p)
		e.accept(t, e.get(t, "", header, tok, "X-Device-Token", tok, "Cookie", cookie+"="+tok+"; lwa_tv="+tok), &p)
		e.reject(t, e.get(t, "", header, tok, "X-Device-Token", other), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "", "Cookie", cookie+"="+tok+"; lwa_tv="+other), 400, core.CodeInvalidRequest, "")
	})
	t.Run("instead", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenCookie(cookie), core.WithDocumentedSources(false))
		tok, p := e.issue("alice")
		e.accept(t, e.get(t, "", "Cookie", cookie+"="+tok), &p)
		e.reject(t, e.get(t, "", auth, bearer(tok)), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "access_token="+url.QueryEscape(tok)), 400, core.CodeInvalidRequest, "")
	})
}
