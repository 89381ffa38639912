package core_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// cachedToken returns a verifier and a ~400-byte lwatest token it has
// already verified and cached.
func cachedToken(tb testing.TB) (*core.Verifier, string) {
	tb.Helper()
	srv := newServer(tb)
	v := newVerifier(tb, srv)
	tok := srv.Issue(clientID, alice)
	require.GreaterOrEqual(tb, len(tok), 400)
	p, err := v.Verify(context.Background(), tok)
	require.NoError(tb, err)
	require.Equal(tb, alice, p)
	require.Equal(tb, 1, srv.CallCount(lwatest.EndpointTokenInfo))
	return v, tok
}

// TestVerifyCachedAllocs: a cached Verify allocates nothing.
func TestVerifyCachedAllocs(t *testing.T) {
	v, tok := cachedToken(t)
	ctx := context.Background()
	var err error
	allocs := testing.AllocsPerRun(1000, func() {
		_, err = v.Verify(ctx, tok)
	})
	require.NoError(t, err)
	assert.Zero(t, allocs, "allocations per cached Verify")
}

func BenchmarkVerifyCached(b *testing.B) {
	v, tok := cachedToken(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256Token is the floor of a cached Verify: hashing the token
// for its cache key.
func BenchmarkSHA256Token(b *testing.B) {
	_, tok := cachedToken(b)
	data := []byte(tok)
	b.ReportAllocs()
	b.ResetTimer()
	var sum [sha256.Size]byte
	for b.Loop() {
		sum = sha256.Sum256(data)
	}
	_ = sum
}

func BenchmarkAuthenticateCached(b *testing.B) {
	v, tok := cachedToken(b)
	ctx := context.Background()
	req := &core.Request{
		Method:        http.MethodGet,
		Authorization: []string{"Bearer " + tok},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := v.Authenticate(ctx, req, core.Policy{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSourcesFromRequestAllocs: as SourcesFromRequest documents, a request
// with a header token costs no allocation to read its token.
func TestSourcesFromRequestAllocs(t *testing.T) {
	for name, header := range map[string]string{
		"Authorization":      "Bearer Atza|IwEBIAbc-_123",
		"X-Amz-Access-Token": "Atza|IwEBIAbc-_123",
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/me?page=2", nil)
			r.Header.Set(name, header)
			tok, err := core.TokenFromRequest(r)
			require.NoError(t, err)
			require.Equal(t, "Atza|IwEBIAbc-_123", tok)
			assert.Zero(t, testing.AllocsPerRun(100, func() { _ = core.SourcesFromRequest(r) }), "SourcesFromRequest")
			assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = core.TokenFromRequest(r) }), "TokenFromRequest")
		})
	}
}
