package lwatest

import (
	"log/slog"
	"testing"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/kit"
)

// ClientID is the client ID that [Server.Verifier] accepts and
// [Server.Token] issues tokens for, so that tests need not repeat one.
const ClientID = "amzn1.application-oa2-client.lwatest00000000000000000000000"

// Start starts a fake LWA server for the test t and closes it when the test
// ends (t.Cleanup), like httptest.NewServer followed by a deferred Close.
func Start(t testing.TB) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

// Token issues a token for ClientID and the customer p (see [Server.Issue]).
func (s *Server) Token(p core.Profile, opts ...TokenOption) string {
	return s.Issue(ClientID, p, opts...)
}

// Verifier returns a core.Verifier for this server, closed when the test t
// ends. It accepts ClientID (opts may add or replace client IDs and any other
// option), logs nothing unless opts give a logger, and behaves as a test
// author expects of the fake: its cache runs on the server's clock (see
// [Server.Advance]), and [Server.Revoke] and [Server.Expire] make it forget
// the token at once.
func (s *Server) Verifier(t testing.TB, opts ...core.Option) *core.Verifier {
	t.Helper()
	all := append([]core.Option{
		core.WithClientID(ClientID),
		core.WithEndpoint(s.URL),
		core.WithHTTPClient(s.Client()),
		core.WithLogger(slog.New(slog.DiscardHandler)),
		kit.WithClock(s.Now),
	}, opts...)
	v, err := core.NewVerifier(all...)
	if err != nil {
		t.Fatalf("lwatest: Verifier: %v", err)
	}
	s.mu.Lock()
	s.verifiers = append(s.verifiers, v)
	s.mu.Unlock()
	t.Cleanup(func() {
		s.mu.Lock()
		for i, w := range s.verifiers {
			if w == v {
				s.verifiers = append(s.verifiers[:i], s.verifiers[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		_ = v.Close()
	})
	return v
}

// forgetInVerifiers makes every verifier from Verifier forget token.
func (s *Server) forgetInVerifiers(token string) {
	s.mu.Lock()
	vs := append([]*core.Verifier(nil), s.verifiers...)
	s.mu.Unlock()
	for _, v := range vs {
		v.Forget(token)
	}
}
