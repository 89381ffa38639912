package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

// TestHeaderValue: plain ASCII travels as it is; anything else is
// percent-encoded UTF-8 that decodes back to the value.
func TestHeaderValue(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"amzn1.account.ABC":  "amzn1.account.ABC",
		"Ada Lovelace":       "Ada Lovelace",
		"a+b@example.com":    "a+b@example.com",
		"Zoë":                "Zo%C3%AB",
		"100%":               "100%25",
		" padded ":           "%20padded%20",
		"line\r\nX-Lwa-A: b": "line%0D%0AX-Lwa-A: b",
		"tab\there":          "tab%09here",
		"del\x7f":            "del%7F",
		"山田 太郎":              "%E5%B1%B1%E7%94%B0 %E5%A4%AA%E9%83%8E",
	} {
		got := headerValue(in)
		assert.Equal(t, want, got, "%q", in)
		back, err := url.PathUnescape(got)
		require.NoError(t, err)
		assert.Equal(t, in, back, "decodes back")
		for i := 0; i < len(got); i++ {
			assert.True(t, got[i] >= 0x20 && got[i] < 0x7f, "printable ASCII only: %q", got)
		}
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = headerValue("amzn1.account.ABC") }), "plain values cost nothing")
}

// TestASCIIJSON: the body carried in X-Lwa-Body is ASCII and decodes to
// the same JSON value as core's body.
func TestASCIIJSON(t *testing.T) {
	for _, s := range []string{"plain", "café", "山田", "emoji 😀", "bad \xff byte", `quote " and \ backslash`, "<tag>&"} {
		b, err := json.Marshal(map[string]string{"error_description": s})
		require.NoError(t, err)
		got := asciiJSON(b)
		for i := 0; i < len(got); i++ {
			require.Less(t, got[i], byte(0x80), "ASCII only: %q", got)
		}
		var back, orig map[string]string
		require.NoError(t, json.Unmarshal([]byte(got), &back))
		require.NoError(t, json.Unmarshal(b, &orig))
		assert.Equal(t, orig, back, "%q", s)
	}
	assert.Equal(t, `{"a":"\u00e9\ud83d\ude00"}`, asciiJSON([]byte(`{"a":"é😀"}`)))
}

// TestNginxRejection: the nginx protocol's answer carries every part of
// core's answer, and no WWW-Authenticate of its own.
func TestNginxRejection(t *testing.T) {
	for _, e := range []*core.Error{
		core.NewError(core.ErrInvalidToken, "the access token is expired, revoked, malformed or unknown"),
		core.NewError(core.ErrUpstreamUnavailable, "Login with Amazon is failing"),
		{Status: 502, Code: core.CodeServerError, Description: "über", RequestID: "rid-1"},
		{Status: 503, Code: core.CodeServerError, Description: "wait", RetryAfter: 1500 * time.Millisecond},
	} {
		direct := httptest.NewRecorder()
		core.WriteError(direct, e)
		w := httptest.NewRecorder()
		setNginxRejection(w, e)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
		assert.Empty(t, w.Body.String())
		assert.Empty(t, w.Header().Values("WWW-Authenticate"))
		assert.Equal(t, []string{"no-store"}, w.Header().Values("Cache-Control"))
		assert.Equal(t, []string{strconv.Itoa(direct.Code)}, w.Header().Values(headerStatus))
		assert.Equal(t, direct.Header().Values("WWW-Authenticate"), w.Header().Values(headerWWWAuthenticate))
		assert.Equal(t, direct.Header().Values("Retry-After"), w.Header().Values(headerRetryAfter))
		assert.JSONEq(t, direct.Body.String(), w.Header().Get(headerBody))
	}
}
