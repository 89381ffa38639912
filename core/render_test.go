package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// unquote parses one RFC 9110 quoted-string at the start of s and returns
// its value and the rest of s.
func unquote(t *testing.T, s string) (string, string) {
	t.Helper()
	require.True(t, strings.HasPrefix(s, `"`), "quoted-string starts with a quote: %q", s)
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:]
		case c == '\\':
			i++
			require.Less(t, i, len(s), "dangling backslash in %q", s)
			q := s[i]
			require.True(t, q == '\t' || (q >= 0x20 && q != 0x7f), "quoted-pair of a byte a header cannot carry: %q", s)
			b.WriteByte(q)
		case c == '\t' || c == ' ' || c == '!' || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e):
			b.WriteByte(c)
		default:
			t.Fatalf("byte %#x is not qdtext in %q", c, s)
		}
	}
	t.Fatalf("unterminated quoted-string %q", s)
	return "", ""
}

// parseChallenge parses `Bearer k="v", k="v"` strictly.
func parseChallenge(t *testing.T, h string) map[string]string {
	t.Helper()
	rest, ok := strings.CutPrefix(h, "Bearer ")
	require.True(t, ok, "scheme Bearer: %q", h)
	out := map[string]string{}
	for {
		k, r, ok := strings.Cut(rest, "=")
		require.True(t, ok, "auth-param in %q", rest)
		var v string
		v, rest = unquote(t, r)
		out[k] = v
		if rest == "" {
			return out
		}
		rest, ok = strings.CutPrefix(rest, ", ")
		require.True(t, ok, "params separated by \", \": %q", h)
	}
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && (c < 0x20 || c >= 0x7f) {
			return false
		}
	}
	return true
}

func TestWWWAuthenticate(t *testing.T) {
	e := &core.Error{Status: 400, Code: core.CodeInvalidToken, Description: "The access token expired"}
	assert.Equal(t, `Bearer error="invalid_token", error_description="The access token expired"`, e.WWWAuthenticate())

	e = &core.Error{Status: 401, Code: core.CodeInsufficientScope, Description: "needs profile"}
	assert.Equal(t, `Bearer error="insufficient_scope", error_description="needs profile"`, e.WWWAuthenticate())

	e = &core.Error{Status: 400, Code: core.CodeInvalidRequest}
	assert.Equal(t, `Bearer error="invalid_request"`, e.WWWAuthenticate(), "no empty error_description")

	for _, status := range []int{200, 403, 404, 500, 502, 504} {
		e := &core.Error{Status: status, Code: core.CodeServerError, Description: "x"}
		assert.Empty(t, e.WWWAuthenticate(), "status %d carries no challenge", status)
	}
}

func TestWWWAuthenticateQuoting(t *testing.T) {
	e := &core.Error{
		Status:      401,
		Code:        `in"valid\code`,
		Description: "say \"hi\" \\ back\x01\x00\x7f\tend\r\nX-Injected: 1 é\xff",
	}
	h := e.WWWAuthenticate()
	assert.Equal(t,
		`Bearer error="in\"valid\\code", error_description="say \"hi\" \\ back???`+"\t"+`end??X-Injected: 1 ???"`, h)
	assert.True(t, validHeaderValue(h), "a header value: %q", h)
	params := parseChallenge(t, h)
	assert.Equal(t, map[string]string{
		"error":             `in"valid\code`,
		"error_description": "say \"hi\" \\ back???\tend??X-Injected: 1 ???",
	}, params)

	// Go's %q would write \x01 and \u00e9: not an HTTP quoted-string.
	assert.NotContains(t, h, `\x01`)
	assert.NotContains(t, h, `\u`)
}

func TestWWWAuthenticateRoundTripsPrintableText(t *testing.T) {
	var all strings.Builder
	for c := byte(0x20); c < 0x7f; c++ {
		all.WriteByte(c)
	}
	e := &core.Error{Status: 400, Code: core.CodeInvalidToken, Description: all.String()}
	h := e.WWWAuthenticate()
	assert.True(t, validHeaderValue(h))
	assert.Equal(t, all.String(), parseChallenge(t, h)["error_description"])
}

func TestMarshalJSON(t *testing.T) {
	e := &core.Error{Status: 400, Code: core.CodeInvalidToken, Description: "expired"}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":"invalid_token","error_description":"expired"}`, string(b))
	assert.NotContains(t, string(b), "request_id", "request_id only when Amazon sent one")
	assert.Equal(t, b, e.Body())

	e.RequestID = "7f3c-rid"
	b, err = json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"error":"invalid_token","error_description":"expired","request_id":"7f3c-rid"}`, string(b))
	assert.Equal(t, b, e.Body())

	// Status and the cause never reach the body.
	withCause := core.AsError(errors.New("secret internals"))
	assert.JSONEq(t, `{"error":"server_error","error_description":"internal error"}`, string(withCause.Body()))

	// Inside another value, as a framework serialises it.
	b, err = json.Marshal(map[string]any{"e": e})
	require.NoError(t, err)
	assert.JSONEq(t, `{"e":{"error":"invalid_token","error_description":"expired","request_id":"7f3c-rid"}}`, string(b))
}

func TestSetHeaders(t *testing.T) {
	got := map[string][]string{}
	set := func(k, v string) { got[k] = append(got[k], v) }
	(&core.Error{Status: 401, Code: core.CodeInsufficientScope, Description: "d"}).SetHeaders(set)
	assert.Equal(t, map[string][]string{
		"Cache-Control":    {"no-store"},
		"WWW-Authenticate": {`Bearer error="insufficient_scope", error_description="d"`},
	}, got, "every header but Content-Type")

	got = map[string][]string{}
	(&core.Error{Status: 404, Code: core.CodeNotFound, Description: "not found"}).SetHeaders(set)
	assert.Equal(t, map[string][]string{
		"Cache-Control": {"no-store"},
	}, got)
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		err    *core.Error
		status int
		chall  bool
	}{
		{&core.Error{Status: 400, Code: core.CodeInvalidRequest, Description: "no token"}, 400, true},
		{&core.Error{Status: 400, Code: core.CodeInvalidToken, Description: "expired", RequestID: "r-1"}, 400, true},
		{&core.Error{Status: 401, Code: core.CodeInsufficientScope, Description: "scope", RequestID: "r-2"}, 401, true},
		{&core.Error{Status: 404, Code: core.CodeNotFound, Description: "not found", RequestID: "r-3"}, 404, false},
		{&core.Error{Status: 502, Code: core.CodeServerError, Description: "down"}, 502, false},
		{&core.Error{Status: 504, Code: core.CodeServerError, Description: "slow"}, 504, false},
	} {
		t.Run(tc.err.Code+"/"+http.StatusText(tc.status), func(t *testing.T) {
			rec := httptest.NewRecorder()
			core.WriteError(rec, tc.err)
			res := rec.Result()
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Equal(t, []string{"application/json"}, res.Header.Values("Content-Type"), "exactly application/json")
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			if tc.chall {
				assert.Equal(t, []string{tc.err.WWWAuthenticate()}, res.Header.Values("WWW-Authenticate"))
				assert.Equal(t, tc.err.Code, parseChallenge(t, res.Header.Get("WWW-Authenticate"))["error"])
			} else {
				assert.Empty(t, res.Header.Values("WWW-Authenticate"))
			}
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			want := map[string]string{"error": tc.err.Code, "error_description": tc.err.Description}
			if tc.err.RequestID != "" {
				want["request_id"] = tc.err.RequestID
			}
			assert.Equal(t, want, body)
		})
	}
}

func TestWriteErrorPlainError(t *testing.T) {
	rec := httptest.NewRecorder()
	core.WriteError(rec, errors.New("database on fire"))
	assert.Equal(t, 500, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Empty(t, rec.Header().Values("WWW-Authenticate"))
	assert.JSONEq(t, `{"error":"server_error","error_description":"internal error"}`, rec.Body.String())
}

func TestWriteErrorNil(t *testing.T) {
	rec := httptest.NewRecorder()
	core.WriteError(rec, nil)
	assert.False(t, rec.Flushed)
	assert.Empty(t, rec.Header())
	assert.Zero(t, rec.Body.Len())
	assert.Equal(t, http.StatusOK, rec.Code, "nothing was written")
}

// TestWriteErrorOfARealRejection: what Verify returns renders as documented,
// with Amazon's request id.
func TestWriteErrorOfARealRejection(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	_, err := v.Verify(context.Background(), randomToken("Atza|"))
	require.Error(t, err)
	rec := httptest.NewRecorder()
	core.WriteError(rec, err)
	assert.Equal(t, 400, rec.Code)
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, core.CodeInvalidToken, body["error"])
	assert.Equal(t, onlyCall(t, srv, lwatest.EndpointTokenInfo).RequestID, body["request_id"])
	assert.NotContains(t, body["error_description"], "The request has an invalid parameter", "Amazon's own text is never reflected")
	ch := parseChallenge(t, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, core.CodeInvalidToken, ch["error"])
}
