package core_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

func TestContextRoundTrip(t *testing.T) {
	p := alice
	ctx := core.NewContext(context.Background(), p)
	got, ok := core.FromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, alice, got)

	// NewContext stores a copy; FromContext returns one.
	p.Email = "changed@example.com"
	got.Name = "changed"
	again, ok := core.FromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, alice, again)

	// It survives derived contexts, and a later NewContext shadows it.
	child, cancel := context.WithCancel(context.WithValue(ctx, struct{ k int }{1}, "v"))
	defer cancel()
	got, ok = core.FromContext(child)
	require.True(t, ok)
	assert.Equal(t, alice, got)
	bob := core.Profile{UserID: "amzn1.account.BOB"}
	got, ok = core.FromContext(core.NewContext(child, bob))
	require.True(t, ok)
	assert.Equal(t, bob, got)

	// The zero profile is still a profile.
	got, ok = core.FromContext(core.NewContext(context.Background(), core.Profile{}))
	assert.True(t, ok)
	assert.Zero(t, got)
}

func TestFromContextWithoutProfile(t *testing.T) {
	got, ok := core.FromContext(context.Background())
	assert.False(t, ok)
	assert.Zero(t, got)

	var nilCtx context.Context
	got, ok = core.FromContext(nilCtx)
	assert.False(t, ok)
	assert.Zero(t, got)

	// Another package's value under a look-alike key is not a profile.
	type profileKey struct{}
	ctx := context.WithValue(context.Background(), profileKey{}, &alice)
	_, ok = core.FromContext(ctx)
	assert.False(t, ok)
	type stringKey string
	ctx = context.WithValue(context.Background(), stringKey("profile"), alice)
	_, ok = core.FromContext(ctx)
	assert.False(t, ok)
}

func TestAuthenticateContext(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	type reqKey struct{}
	parent := context.WithValue(context.Background(), reqKey{}, "request-scoped")

	ctx, p, err := authenticate(v, parent, headerRequest(tok), core.Policy{})
	require.NoError(t, err)
	require.NotNil(t, p)
	assert.Equal(t, "request-scoped", ctx.Value(reqKey{}), "derived from the request's context")
	got, ok := core.FromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, *p, got)
	got.Email = "changed"
	again, _ := core.FromContext(ctx)
	assert.Equal(t, alice, again, "FromContext hands out copies")
}
