package lwatest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"time"

	"github.com/go-lwa/lwa/core"
)

// DefaultLifetime is how long a token from Issue stays valid unless
// WithLifetime says otherwise: 60 minutes, like a real LWA access token.
const DefaultLifetime = time.Hour

// tokenRandomBytes random bytes give 400 base64url characters after "Atza|".
const tokenRandomBytes = 300

// DefaultScopes returns the scopes a token from Issue carries unless
// WithScopes says otherwise: "profile" and "postal_code".
func DefaultScopes() []string { return []string{"profile", "postal_code"} }

// grant is what the server knows about one issued token.
type grant struct {
	clientID  string
	appID     string
	profile   core.Profile // UserID always set
	scopes    []string
	issuedAt  time.Time // server clock
	expiresAt time.Time // server clock
	revoked   bool
}

// secondsLeft is tokeninfo's "exp": whole seconds remaining at now, rounded
// down. The token is valid only while it is positive.
func (g *grant) secondsLeft(now time.Time) int64 {
	return int64(g.expiresAt.Sub(now) / time.Second)
}

func (g *grant) hasScope(scope string) bool { return slices.Contains(g.scopes, scope) }

// TokenOption configures a token minted by [Server.Issue].
type TokenOption func(*tokenConfig)

type tokenConfig struct {
	scopes   []string
	lifetime time.Duration
	appID    string
	token    string
	issuedAt time.Time
}

// WithIssuedAt sets when the token was issued (tokeninfo's "iat"), on the
// server's clock, instead of now; its lifetime runs from then. Tests of
// core.Verifier.RevokeUser use it to mint tokens issued before or after a
// revocation.
func WithIssuedAt(t time.Time) TokenOption {
	return func(c *tokenConfig) { c.issuedAt = t }
}

// WithScopes sets the scopes the customer granted to the token, replacing the
// default "profile" and "postal_code". The profile endpoint answers with the
// fields they allow: "profile" gives user_id, email and name;
// "profile:user_id" gives user_id only; "postal_code" gives postal_code. A
// token with neither "profile" nor "profile:user_id" gets 401
// insufficient_scope from the profile endpoint. WithScopes() with no
// arguments issues a token with no scope at all.
func WithScopes(scopes ...string) TokenOption {
	scopes = slices.Clone(scopes)
	if scopes == nil {
		scopes = []string{}
	}
	return func(c *tokenConfig) { c.scopes = scopes }
}

// WithLifetime sets how long the token stays valid, measured on the server's
// clock (see [Server.Advance]). The default is one hour. A lifetime under one
// second gives a token that is already expired, since tokeninfo's "exp" is
// rounded down to whole seconds.
func WithLifetime(d time.Duration) TokenOption {
	return func(c *tokenConfig) { c.lifetime = d }
}

// WithAppID sets the "app_id" tokeninfo reports for the token. By default it
// is derived from the client ID ("amzn1.application." followed by 32 hex
// digits), the same for every token of one client ID.
func WithAppID(id string) TokenOption {
	return func(c *tokenConfig) { c.appID = id }
}

// WithToken makes Issue use exactly this token string instead of a random
// one, for tests that need particular characters (such as "|+/=&%") or
// lengths. Issuing a token that already exists replaces its grant. Issue
// panics if token is empty.
func WithToken(token string) TokenOption {
	return func(c *tokenConfig) {
		if token == "" {
			panic("lwatest: WithToken: empty token")
		}
		c.token = token
	}
}

// Issue mints a new access token for the LWA client clientID (tokeninfo's
// "aud") and the customer p, and returns it. By default the token looks like
// a real LWA access token ("Atza|" followed by 400 random characters from
// [A-Za-z0-9_-]), carries the scopes "profile" and "postal_code", and lives
// one hour.
//
// If p.UserID is empty, Issue generates one of the form "amzn1.account."
// followed by random uppercase letters and digits; [Server.Profile] reports
// it.
func (s *Server) Issue(clientID string, p core.Profile, opts ...TokenOption) string {
	cfg := tokenConfig{scopes: DefaultScopes(), lifetime: DefaultLifetime}
	for _, o := range opts {
		o(&cfg)
	}
	tok := cfg.token
	if tok == "" {
		tok = newAccessToken()
	}
	if p.UserID == "" {
		p.UserID = newUserID()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.issueLocked(tok, clientID, p, cfg)
	return tok
}

// issueLocked records the grant of the access token tok. s.mu is held.
func (s *Server) issueLocked(tok, clientID string, p core.Profile, cfg tokenConfig) {
	appID := cfg.appID
	if appID == "" {
		appID = s.defaultAppIDLocked(clientID)
	}
	issued := s.nowLocked()
	if !cfg.issuedAt.IsZero() {
		issued = cfg.issuedAt
	}
	s.tokens[tok] = &grant{
		clientID:  clientID,
		appID:     appID,
		profile:   p,
		scopes:    cfg.scopes,
		issuedAt:  issued,
		expiresAt: issued.Add(cfg.lifetime),
	}
}

// Revoke revokes token: tokeninfo and profile then answer 400 invalid_token
// for it, as Amazon does once a customer removes an app's access. token may
// also be a refresh token from the token endpoint: exchanging it then fails
// with invalid_grant (the access tokens it gave stay valid; revoke them too
// if the test needs it). Revoking an unknown token does nothing.
//
// A verifier from [Server.Verifier] forgets the token at once, so that its
// next use asks the server again and is rejected; any other verifier keeps
// trusting its cached answer until its cache TTL runs out, as it would
// with Amazon.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	if g, ok := s.tokens[token]; ok {
		g.revoked = true
	}
	if rg, ok := s.refresh[token]; ok {
		rg.revoked = true
	}
	s.mu.Unlock()
	s.forgetInVerifiers(token)
}

// Expire ends token's lifetime now, with the same effect as its lifetime
// having run out: tokeninfo and profile answer 400 invalid_token. Expiring an
// unknown token does nothing. Like Revoke, it makes verifiers from
// [Server.Verifier] forget the token; other verifiers keep their cached
// answer until its TTL runs out.
func (s *Server) Expire(token string) {
	s.mu.Lock()
	if g, ok := s.tokens[token]; ok {
		g.expiresAt = s.nowLocked()
	}
	s.mu.Unlock()
	s.forgetInVerifiers(token)
}

// Profile returns the customer profile token was issued for, with the UserID
// Issue generated if it was given none. It reports false if the server never
// issued token. It ignores scopes, revocation and expiry: it is the server's
// record, not the profile endpoint's answer.
func (s *Server) Profile(token string) (core.Profile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.tokens[token]
	if !ok {
		return core.Profile{}, false
	}
	return g.profile, true
}

// valid returns a copy of token's grant and its seconds left, or ok=false if
// the token is unknown, revoked or expired.
func (s *Server) valid(token string) (g grant, exp int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, found := s.tokens[token]
	if !found || p.revoked {
		return grant{}, 0, false
	}
	exp = p.secondsLeft(s.nowLocked())
	if exp <= 0 {
		return grant{}, 0, false
	}
	return *p, exp, true
}

func (s *Server) defaultAppIDLocked(clientID string) string {
	if id, ok := s.appIDs[clientID]; ok {
		return id
	}
	sum := sha256.Sum256([]byte("lwatest app_id\x00" + clientID))
	id := "amzn1.application." + hex.EncodeToString(sum[:16])
	s.appIDs[clientID] = id
	return id
}

// newAccessToken returns "Atza|" and 400 random base64url characters.
func newAccessToken() string {
	b := make([]byte, tokenRandomBytes)
	_, _ = rand.Read(b) // never fails
	return "Atza|" + base64.RawURLEncoding.EncodeToString(b)
}

// newUserID returns "amzn1.account." and 28 random uppercase alphanumerics.
func newUserID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 28)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // slight bias is fine for a fake
	}
	return "amzn1.account." + string(b)
}

// newRequestID returns a random UUID (version 4) in 8-4-4-4-12 hex form,
// like Amazon's x-amzn-RequestId.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
