package rpcconformance

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

// testExtraction: every rule of token extraction from metadata, accepted
// and rejected.
func testExtraction(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	tok, p := e.issue("alice")
	other, _ := e.issue("bob")
	encoded := strings.Replace(tok, "|", "%7C", 1)
	require.NotEqual(t, tok, encoded)

	for _, c := range []struct {
		name string
		kv   []string
	}{
		{"Bearer", []string{auth, "Bearer " + tok}},
		{"bearer lower case", []string{auth, "bearer " + tok}},
		{"BEARER upper case", []string{auth, "BEARER " + tok}},
		{"extra spaces", []string{auth, "Bearer    " + tok + "   "}},
		{"x-amz-access-token", []string{amz, tok}},
		{"percent-encoded authorization", []string{auth, bearer(encoded)}},
		{"percent-encoded x-amz-access-token", []string{amz, encoded}},
		{"same token in both", []string{auth, bearer(tok), amz, encoded}},
		{"empty authorization beside x-amz-access-token", []string{auth, "", amz, tok}},
	} {
		t.Run(c.name, func(t *testing.T) { e.acceptBoth(t, &p, c.kv...) })
	}
	for _, c := range []struct {
		name string
		kv   []string
	}{
		{"Bearer alone", []string{auth, "Bearer"}},
		{"Bearer and spaces", []string{auth, "Bearer    "}},
		{"Bearer a b", []string{auth, "Bearer a b"}},
		{"other scheme", []string{auth, "Basic " + tok}},
		{"token without scheme", []string{auth, tok}},
		{"two authorization values", []string{auth, bearer(tok), auth, bearer(tok)}},
		{"different tokens", []string{amz, other, auth, bearer(tok)}},
		{"two different x-amz-access-token values", []string{amz, tok, amz, other}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.rejectBoth(t, rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}, noRID, c.kv...)
		})
	}
	e.calls(t, 1) // one verification of tok served every accepted call
}

// testTokenSources: custom headers (as lower-case metadata keys) and
// cookies carry the token, in addition to or instead of the documented
// sources, with the same rules; several of each may be configured.
func testTokenSources(t *testing.T, a Adapter) {
	const header, cookie = "X-Api-Token", "lwa_token"
	key := strings.ToLower(header)
	t.Run("in addition", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenHeader(header), core.WithTokenCookie(cookie))
		tok, p := e.issue("alice")
		other, _ := e.issue("bob")
		e.acceptBoth(t, &p, key, tok)
		e.acceptBoth(t, &p, "cookie", cookie+"="+tok)
		e.acceptBoth(t, &p, "cookie", "a=b; "+cookie+"="+url.QueryEscape(tok)) // decoded once
		e.acceptBoth(t, &p, auth, bearer(tok), key, tok, "cookie", cookie+"="+tok)
		bad := rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}
		e.rejectBoth(t, bad, noRID, auth, bearer(tok), key, other)
		e.rejectBoth(t, bad, noRID, key, tok, "cookie", cookie+"="+other)
		e.rejectBoth(t, bad, noRID, key, "Atza|bad token")
		e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID, "cookie", "other="+tok)
	})
	t.Run("several headers and cookies", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenHeader(header, "X-Device-Token"), core.WithTokenCookie(cookie),
			core.WithTokenCookie("lwa_tv"))
		tok, p := e.issue("alice")
		other, _ := e.issue("bob")
		e.acceptBoth(t, &p, "x-device-token", tok)
		e.acceptBoth(t, &p, "cookie", "lwa_tv="+tok)
		e.acceptBoth(t, &p, key, tok, "x-device-token", tok, "cookie", cookie+"="+tok+"; lwa_tv="+tok)
		bad := rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}
		e.rejectBoth(t, bad, noRID, key, tok, "x-device-token", other)
		e.rejectBoth(t, bad, noRID, "cookie", cookie+"="+tok+"; lwa_tv="+other)
	})
	t.Run("instead", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTokenHeader(header), core.WithDocumentedSources(false))
		tok, p := e.issue("alice")
		e.acceptBoth(t, &p, key, tok)
		missing := rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}
		e.rejectBoth(t, missing, noRID, auth, bearer(tok))
		e.rejectBoth(t, missing, noRID, amz, tok)
		// A documented source the verifier ignores cannot conflict.
		other, _ := e.issue("bob")
		e.acceptBoth(t, &p, key, tok, auth, bearer(other))
	})
}
