package conformance

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Fixture is what the adapters' own tests start from: a fake LWA server, a
// verifier for ClientID against it, a valid token for Alice and a revoked
// one. Everything is closed when the test ends.
type Fixture struct {
	Srv     *lwatest.Server
	V       *core.Verifier
	Tok     string
	Revoked string
	Alice   core.Profile
}

// NewFixture starts a Fixture.
func NewFixture(t *testing.T) *Fixture {
	t.Helper()
	f := &Fixture{Srv: lwatest.NewServer(), Alice: core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice"}}
	t.Cleanup(f.Srv.Close)
	v, err := core.NewVerifier(core.WithClientID(ClientID), core.WithEndpoint(f.Srv.URL))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	f.V = v
	f.Tok = f.Srv.Issue(ClientID, f.Alice)
	f.Revoked = f.Srv.Issue(ClientID, core.Profile{UserID: "amzn1.account.GONE"})
	f.Srv.Revoke(f.Revoked)
	return f
}

// Do serves one GET /x through h in memory, with token (if any) as a Bearer
// token.
func Do(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}
