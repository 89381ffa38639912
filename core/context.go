package core

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// credentials is the context of a verified request: its parent, the
// verified token's (shared, immutable) cache entry and the token itself.
// One allocation on the cached path, as context.WithValue would be. It
// formats without the token.
type credentials struct {
	context.Context
	e     *entry
	token string
}

// Value returns the credentials themselves for ContextKey, else asks the
// parent.
func (c *credentials) Value(key any) any {
	if k, ok := key.(string); ok && k == ContextKey {
		return c
	}
	return c.Context.Value(key)
}

// String names the context without its token or customer.
func (c *credentials) String() string { return fmt.Sprint(c.Context) + ".WithValue(lwa credentials)" }

// GoString is String.
func (c *credentials) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs nothing of the credentials.
func (c *credentials) LogValue() slog.Value { return slog.StringValue("lwa credentials") }

// credentialsOf returns the credentials found in ctx under ContextKey.
func credentialsOf(ctx context.Context) *credentials {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(ContextKey).(*credentials)
	return c
}

// TokenInfo is what a handler may want to know about a verified access
// token besides its customer's profile: which client ID it was issued to (a
// web or a device client, say) and for which app, when it was issued and
// when it expires at Amazon. It never holds the token itself.
type TokenInfo struct {
	// ClientID is the client ID the token was issued to (tokeninfo's aud).
	ClientID string `json:"client_id"`
	// AppID is the LWA app (security profile) the client ID belongs to
	// (tokeninfo's app_id); "" when Amazon did not say.
	AppID string `json:"app_id,omitempty"`
	// IssuedAt is when Amazon issued the token (tokeninfo's iat); zero when
	// Amazon did not say.
	IssuedAt time.Time `json:"issued_at"`
	// ExpiresAt is when the token expires at Amazon (tokeninfo's exp,
	// seconds remaining when it was verified).
	ExpiresAt time.Time `json:"expires_at"`
}

// NewContext returns a copy of ctx that carries p as a verified profile, for
// tests of handlers that read FromContext. The middleware itself stores
// more (the token's details and the token) in the context it hands on.
func NewContext(ctx context.Context, p Profile) context.Context {
	return &credentials{Context: ctx, e: &entry{profile: p}}
}

// FromContext returns the verified profile stored in ctx (or in the
// framework context ctx, see ContextKey), and whether there was one. A
// request that passed without a token (an optional route, a skipped
// request) has none. The profile is a copy: changing it changes nothing
// for other handlers.
func FromContext(ctx context.Context) (Profile, bool) {
	if c := credentialsOf(ctx); c != nil {
		return c.e.profile, true
	}
	return Profile{}, false
}

// TokenInfoFromContext returns the details of the verified token of ctx, and
// whether there was one.
func TokenInfoFromContext(ctx context.Context) (TokenInfo, bool) {
	if c := credentialsOf(ctx); c != nil && c.token != "" {
		return c.e.info(), true
	}
	return TokenInfo{}, false
}

// TokenFromContext returns the access token of the verified request of ctx,
// exactly as the middleware extracted it from whichever source carried it
// (header, query, custom header or cookie), and whether there was one: what
// to pass to Verifier.Revoke when the customer signs out. Never log it.
func TokenFromContext(ctx context.Context) (string, bool) {
	if c := credentialsOf(ctx); c != nil && c.token != "" {
		return c.token, true
	}
	return "", false
}
