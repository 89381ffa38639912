package core

import (
	"context"
	"time"
)

// profileKey is the context key of the verified token's entry. Unexported,
// so no other package can forge or overwrite it.
type profileKey struct{}

// TokenInfo is what a handler may want to know about a verified access
// token besides its customer's profile: which of the accepted client IDs it
// was issued to (a web or a device client, say), when it was issued and
// when it expires at Amazon. It never holds the token itself.
type TokenInfo struct {
	// ClientID is the client ID the token was issued to (tokeninfo's aud).
	ClientID string `json:"client_id"`
	// IssuedAt is when Amazon issued the token (tokeninfo's iat); zero when
	// Amazon did not say.
	IssuedAt time.Time `json:"issued_at"`
	// ExpiresAt is when the token expires at Amazon (tokeninfo's exp,
	// seconds remaining when it was verified).
	ExpiresAt time.Time `json:"expires_at"`
}

// NewContext returns a copy of ctx that carries p. Adapters call it after a
// successful verification so that code which only receives a
// context.Context can read the profile with FromContext.
func NewContext(ctx context.Context, p Profile) context.Context {
	return context.WithValue(ctx, profileKey{}, &entry{profile: p})
}

// NewContextWithInfo is NewContext that also stores the token's details,
// read back with TokenInfoFromContext.
func NewContextWithInfo(ctx context.Context, p Profile, info TokenInfo) context.Context {
	e := &entry{profile: p, clientID: info.ClientID}
	if !info.IssuedAt.IsZero() {
		e.issued = info.IssuedAt.Unix()
	}
	if !info.ExpiresAt.IsZero() {
		e.expires = info.ExpiresAt.Unix()
	}
	return context.WithValue(ctx, profileKey{}, e)
}

// newContextShared stores a pointer to an immutable, cached entry: one
// allocation fewer than NewContext on the hot path.
func newContextShared(ctx context.Context, e *entry) context.Context {
	return context.WithValue(ctx, profileKey{}, e)
}

// ContextKey returns the key under which NewContext stores the verified
// token, for frameworks whose own request context resolves Value through a
// store of their own (Fiber v3's Locals): storing ContextValue under it
// there makes FromContext work on the framework's context.
func ContextKey() any { return profileKey{} }

// ContextValue returns what NewContext stored in ctx, to be stored under
// ContextKey elsewhere; nil when ctx carries no profile.
func ContextValue(ctx context.Context) any {
	if ctx == nil {
		return nil
	}
	e, _ := ctx.Value(profileKey{}).(*entry)
	if e == nil {
		return nil
	}
	return e
}

// FromContext returns the verified profile stored in ctx, and whether there
// was one. A request that passed without a token (an optional route, a
// skipped request) has none.
func FromContext(ctx context.Context) (Profile, bool) {
	if ctx == nil {
		return Profile{}, false
	}
	e, ok := ctx.Value(profileKey{}).(*entry)
	if !ok || e == nil {
		return Profile{}, false
	}
	return e.profile, true
}

// TokenInfoFromContext returns the details of the verified token of ctx, and
// whether there was one.
func TokenInfoFromContext(ctx context.Context) (TokenInfo, bool) {
	if ctx == nil {
		return TokenInfo{}, false
	}
	e, ok := ctx.Value(profileKey{}).(*entry)
	if !ok || e == nil {
		return TokenInfo{}, false
	}
	return e.info(), true
}
