package core

import "context"

// profileKey is the context key of the verified profile. Unexported, so no
// other package can forge or overwrite the entry.
type profileKey struct{}

// NewContext returns a copy of ctx that carries p. Adapters call it after a
// successful verification so that code which only receives a
// context.Context can read the profile with FromContext.
func NewContext(ctx context.Context, p Profile) context.Context {
	return context.WithValue(ctx, profileKey{}, &p)
}

// newContextShared stores a pointer to an immutable, cached profile: one
// allocation fewer than NewContext on the hot path.
func newContextShared(ctx context.Context, p *Profile) context.Context {
	return context.WithValue(ctx, profileKey{}, p)
}

// FromContext returns the verified profile stored in ctx, and whether there
// was one. A request that passed without a token (an optional route, a
// skipped request, a CORS preflight) has none.
func FromContext(ctx context.Context) (Profile, bool) {
	if ctx == nil {
		return Profile{}, false
	}
	p, ok := ctx.Value(profileKey{}).(*Profile)
	if !ok || p == nil {
		return Profile{}, false
	}
	return *p, true
}
