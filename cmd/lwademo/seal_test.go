package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSealer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := newSealer(func() time.Time { return now })
	require.NoError(t, err)
	in := &handoff{Nonce: "n0nce", Token: "Atza|secret-token", Origin: "http://127.0.0.1:8081", TokenExpires: now.Unix() + 3600, Expires: now.Unix() + 60}
	v, err := s.seal(handoffCookie, in)
	require.NoError(t, err)
	for _, clear := range []string{"n0nce", "Atza", "secret-token", "127.0.0.1"} {
		assert.NotContains(t, v, clear)
	}
	var out handoff
	require.NoError(t, s.open(handoffCookie, v, &out))
	assert.Equal(t, *in, out)

	again, err := s.seal(handoffCookie, in)
	require.NoError(t, err)
	assert.NotEqual(t, v, again, "a fresh nonce each time")

	// Every changed bit of the sealed bytes is refused.
	raw, err := base64.RawURLEncoding.DecodeString(v)
	require.NoError(t, err)
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			mod := bytes.Clone(raw)
			mod[i] ^= bit
			assert.ErrorIs(t, s.open(handoffCookie, base64.RawURLEncoding.EncodeToString(mod), &out), errSealed, "byte %d", i)
		}
	}
	assert.ErrorIs(t, s.open(loginCookie, v, &out), errSealed, "sealed for another cookie")
	assert.ErrorIs(t, s.open(handoffCookie, v[:20], &out), errSealed, "cut")
	assert.ErrorIs(t, s.open(handoffCookie, "", &out), errSealed)
	assert.ErrorIs(t, s.open(handoffCookie, v+"=", &out), errSealed, "padded")
	assert.ErrorIs(t, s.open(handoffCookie, strings.Repeat("A", maxSealedCookie+1), &out), errSealed)

	other, err := newSealer(func() time.Time { return now })
	require.NoError(t, err)
	assert.ErrorIs(t, other.open(handoffCookie, v, &out), errSealed, "another process's key")

	// Expiry is inside the seal: refused from the second it names.
	now = now.Add(59 * time.Second)
	require.NoError(t, s.open(handoffCookie, v, &out))
	now = now.Add(time.Second)
	assert.ErrorIs(t, s.open(handoffCookie, v, &out), errSealed, "expired")
}

// TestSealedCookieFits: the largest hand-over (a token of LWA's maximum
// 2048 bytes, our longest origin) fits in one browser cookie.
func TestSealedCookieFits(t *testing.T) {
	s, err := newSealer(time.Now)
	require.NoError(t, err)
	h := &handoff{
		Nonce: randomString(16), Token: secret("Atza|" + strings.Repeat("x", 2043)),
		Origin: "https://" + strings.Repeat("h", 253) + ":65535", TokenExpires: 1 << 40, Expires: 1 << 40,
	}
	v, err := s.seal(handoffCookie, h)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(handoffCookie)+1+len(v), maxSealedCookie)
	l := &loginState{State: randomString(32), Verifier: secret(strings.Repeat("v", 128)), Origin: h.Origin, Expires: 1 << 40}
	v, err = s.seal(loginCookie, l)
	require.NoError(t, err)
	assert.Less(t, len(v), 1024)
}

// TestSecretsNeverPrinted: the token and the PKCE verifier, in the values
// that carry them, print as a placeholder with every fmt verb and in slog;
// only the JSON that is sealed holds them.
func TestSecretsNeverPrinted(t *testing.T) {
	const tok, verifier = "Atza|the-token-itself", "the-pkce-verifier"
	h := handoff{Nonce: "n", Token: tok, Origin: "o"}
	l := loginState{State: "s", Verifier: verifier, Origin: "o"}
	c := claimResponse{AccessToken: tok, TokenType: "bearer"}
	for _, v := range []any{h, &h, l, &l, c, &c, h.Token, l.Verifier} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %[1]v"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, "the-token", "%s of %T", verb, v)
			assert.NotContains(t, out, verifier, "%s of %T", verb, v)
		}
		assert.NotContains(t, fmt.Sprint(v), "the-token")
		assert.NotContains(t, fmt.Sprintln(v), verifier)
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "v", v)
		assert.NotContains(t, logged.String(), "the-token", "%T", v)
		assert.NotContains(t, logged.String(), verifier, "%T", v)
	}
	assert.Contains(t, fmt.Sprintf("%+v", h), redacted)

	j, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"access_token":"Atza|the-token-itself","token_type":"bearer"}`, string(j), "the page gets the token itself")
}

// TestLoginKeepsNothing: ten thousand sign-ins started and never finished
// leave the server's heap where it was (the table they used to fill held
// about 2.5 MB).
func TestLoginKeepsNothing(t *testing.T) {
	s := startSiteForTest(t)
	req := httptest.NewRequest(http.MethodGet, s.api+"/login", nil)
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	for range 10_000 {
		rec := httptest.NewRecorder()
		s.login(rec, req)
		require.Equal(t, http.StatusFound, rec.Code)
	}
	grown := heap() - before
	t.Logf("heap grew by %d bytes over 10 000 GET /login", grown)
	assert.Less(t, grown, int64(256<<10))
}

// BenchmarkLogin is one GET /login: a state, a PKCE verifier, a sealed
// cookie and the redirect to Amazon.
func BenchmarkLogin(b *testing.B) {
	s := startSiteForTest(b)
	req := httptest.NewRequest(http.MethodGet, s.api+"/login", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.login(rec, req)
		if rec.Code != http.StatusFound {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkOpenLoginCookie is the callback's check of the login cookie.
func BenchmarkOpenLoginCookie(b *testing.B) {
	s, err := newSealer(time.Now)
	require.NoError(b, err)
	v, err := s.seal(loginCookie, &loginState{State: randomString(32), Verifier: secret(randomString(32)), Origin: "http://127.0.0.1:8081", Expires: time.Now().Add(time.Hour).Unix()})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		var st loginState
		if err := s.open(loginCookie, v, &st); err != nil {
			b.Fatal(err)
		}
	}
}
