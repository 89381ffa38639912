package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func preflight(sources core.TokenSources) *core.Request {
	sources.Method, sources.AccessControlRequestMethod = http.MethodOptions, "POST"
	return &sources
}

func TestIsPreflight(t *testing.T) {
	assert.True(t, preflight(core.TokenSources{}).IsPreflight())
	assert.False(t, (&core.Request{Method: http.MethodOptions}).IsPreflight(), "OPTIONS without Access-Control-Request-Method")
	assert.False(t, (&core.Request{Method: http.MethodGet, AccessControlRequestMethod: "POST"}).IsPreflight())
}

func TestAuthenticatePolicies(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	bad := randomToken("Atza|")
	ctx := context.Background()
	none := &core.Request{Method: http.MethodGet}

	t.Run("preflight is answered by the middleware", func(t *testing.T) {
		got, p, err := authenticate(v, ctx, preflight(core.TokenSources{}), core.Policy{})
		e := requireRejection(t, err, http.StatusNoContent, "", core.ErrPreflight)
		assert.Empty(t, e.WWWAuthenticate())
		assert.Nil(t, p)
		assert.Equal(t, ctx, got)
		w := httptest.NewRecorder()
		core.WriteError(w, err)
		assert.Equal(t, http.StatusNoContent, w.Code)
		assert.Empty(t, w.Body.String(), "a bare 204")
		assert.Empty(t, w.Header().Get("Content-Type"))
	})
	t.Run("preflight is not verified, even with a bad token", func(t *testing.T) {
		srv.ResetCalls()
		_, p, err := authenticate(v, ctx, preflight(core.TokenSources{AmzAccessToken: []string{bad}}), core.Policy{})
		require.ErrorIs(t, err, core.ErrPreflight)
		assert.Nil(t, p)
		assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo))
	})
	t.Run("PassPreflight lets a preflight through without a profile", func(t *testing.T) {
		got, p, err := authenticate(v, ctx, preflight(core.TokenSources{}), core.Policy{PassPreflight: true})
		require.NoError(t, err)
		assert.Nil(t, p)
		assert.Equal(t, ctx, got)
	})
	t.Run("CheckPreflight subjects preflights to the check", func(t *testing.T) {
		_, p, err := authenticate(v, ctx, preflight(core.TokenSources{}), core.Policy{CheckPreflight: true})
		requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMissingToken)
		assert.Nil(t, p)
		_, p, err = authenticate(v, ctx, preflight(core.TokenSources{AmzAccessToken: []string{tok}}), core.Policy{CheckPreflight: true})
		require.NoError(t, err)
		require.NotNil(t, p)
		assert.Equal(t, alice, *p)
	})
	t.Run("a plain OPTIONS is not a preflight", func(t *testing.T) {
		_, _, err := authenticate(v, ctx, &core.Request{Method: http.MethodOptions}, core.Policy{})
		requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMissingToken)
	})
	t.Run("required: no token", func(t *testing.T) {
		_, p, err := authenticate(v, ctx, none, core.Policy{})
		requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMissingToken)
		assert.Nil(t, p)
	})
	t.Run("optional: no token passes without a profile", func(t *testing.T) {
		got, p, err := authenticate(v, ctx, none, core.Policy{Optional: true})
		require.NoError(t, err)
		assert.Nil(t, p)
		_, ok := core.FromContext(got)
		assert.False(t, ok)
		empty := &core.Request{Method: http.MethodGet, Authorization: []string{""}, AmzAccessToken: []string{" "}, Query: []string{""}}
		_, p, err = authenticate(v, ctx, empty, core.Policy{Optional: true})
		require.NoError(t, err, "empty values are an absent token")
		assert.Nil(t, p)
	})
	t.Run("optional: a good token gives a profile", func(t *testing.T) {
		got, p, err := authenticate(v, ctx, headerRequest(tok), core.Policy{Optional: true})
		require.NoError(t, err)
		require.NotNil(t, p)
		fromCtx, ok := core.FromContext(got)
		require.True(t, ok)
		assert.Equal(t, alice, fromCtx)
	})
	t.Run("optional: a bad token is still rejected", func(t *testing.T) {
		for name, r := range map[string]*core.Request{
			"unknown":       headerRequest(bad),
			"Basic":         {Method: http.MethodGet, Authorization: []string{"Basic abc"}},
			"Bearer alone":  {Method: http.MethodGet, Authorization: []string{"Bearer"}},
			"two tokens":    {Method: http.MethodGet, AmzAccessToken: []string{tok, bad}},
			"refresh token": headerRequest(randomToken("Atzr|")),
			"non-printable": amzRequest("Atza|a\x01b"),
			"another app's": headerRequest(srv.Issue(otherClientID, alice)),
			"bad encoding":  amzRequest("Atza%zz"),
		} {
			_, p, err := authenticate(v, ctx, r, core.Policy{Optional: true})
			assert.Error(t, err, name)
			assert.Nil(t, p, name)
		}
	})
}
