package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// testOptional: only an absent token passes without a profile.
func testOptional(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{Policy: core.Policy{Optional: true}})
	tok, p := e.issue("alice")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)

	e.accept(t, e.get(t, ""), nil)
	e.noUpstream(t)
	e.reject(t, e.get(t, "", auth, "Bearer"), 400, core.CodeInvalidRequest, "")
	e.reject(t, e.get(t, "", auth, bearer("Atza|a b")), 400, core.CodeInvalidRequest, "")
	e.noUpstream(t)
	e.reject(t, e.get(t, "", auth, bearer(revoked)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
}

func testSkip(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{Skip: true})
	tok, p := e.issue("alice")
	e.accept(t, e.get(t, "", SkipHeader, "1"), nil)
	e.accept(t, e.get(t, "", SkipHeader, "1", auth, bearer(tok)), nil) // skipped: not even verified
	e.accept(t, e.get(t, "", SkipHeader, "1", auth, "Bearer"), nil)
	e.noUpstream(t)
	e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
}

// testRouteRequirements: a route's own required fields and client IDs,
// sharing the verifier's cache with other routes.
func testRouteRequirements(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{Policy: core.Policy{RequiredFields: []string{core.FieldPostalCode}}})
	tok, p := e.issue("alice")
	noPostal, _ := e.issue("bob", lwatest.WithScopes("profile"))
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	e.reject(t, e.get(t, "", auth, bearer(noPostal)), 401, core.CodeInsufficientScope, "")
	// The same verifier on a route without the requirement accepts bob,
	// without asking Amazon again.
	calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
	plain := newEnvWith(t, a, e, Setup{})
	_, err := e.v.Verify(context.Background(), noPostal)
	require.NoError(t, err)
	r := plain.get(t, "", auth, bearer(noPostal))
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, calls, e.srv.CallCount(lwatest.EndpointTokenInfo), "one cache for both routes")

	devices := newEnvWith(t, a, e, Setup{Policy: core.Policy{ClientIDs: []string{"amzn1.application-oa2-client.devices"}}})
	devices.reject(t, devices.get(t, "", auth, bearer(tok)), 404, core.CodeNotFound, "")
}

// testPolicyValidated: a Policy that cannot mean what it says (a typo in a
// required field would let every token through) panics when the
// middleware is built, with a message naming the package.
func testPolicyValidated(t *testing.T, a Adapter) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	v, err := core.NewVerifier(core.WithClientID(ClientID), core.WithEndpoint(srv.URL), core.WithLogger(quiet))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	for _, pol := range []core.Policy{
		{RequiredFields: []string{"postalcode"}},
		{RequiredFields: []string{core.FieldEmail, "Email"}},
		{ClientIDs: []string{""}},
		{CheckPreflight: true, PassPreflight: true},
	} {
		msg := panicMessage(func() { a.Serve(t, Setup{Verifier: v, Policy: pol}) })
		require.NotEmpty(t, msg, "New with %+v must panic", pol)
		assert.True(t, strings.HasPrefix(msg, a.Name+".New: "), "panic message %q should name the package", msg)
	}
}

// testAppID: with core.WithAppID, a token issued to another client ID of
// the same LWA app (a device's, say) is accepted and its details name the
// client and the app; a verifier without it answers 404; another app's
// token is refused either way.
func testAppID(t *testing.T, a Adapter) {
	const app = "amzn1.application.conformance"
	const tvClient = "amzn1.application-oa2-client.conformance-tv"
	e := newEnv(t, a, Setup{}, core.WithAppID(app))
	p := core.Profile{UserID: "amzn1.account.TV", Name: "tv", Email: "tv@example.com"}
	tok := e.srv.Issue(tvClient, p, lwatest.WithAppID(app))
	r := e.get(t, "", auth, bearer(tok))
	e.accept(t, r, &p)
	s := r.seen(t)
	require.NotNil(t, s.Info)
	assert.Equal(t, tvClient, s.Info.ClientID)
	assert.Equal(t, app, s.Info.AppID)
	foreign := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"}, lwatest.WithAppID("amzn1.application.other"))
	e.reject(t, e.get(t, "", auth, bearer(foreign)), 404, core.CodeNotFound, e.rid(t, lwatest.EndpointTokenInfo))

	strict := newEnv(t, a, Setup{})
	tok2 := strict.srv.Issue(tvClient, p, lwatest.WithAppID(app))
	strict.reject(t, strict.get(t, "", auth, bearer(tok2)), 404, core.CodeNotFound, strict.rid(t, lwatest.EndpointTokenInfo))

	// A route restricted to the web client ID refuses the TV's token.
	web := newEnvWith(t, a, e, Setup{Policy: core.Policy{ClientIDs: []string{ClientID}}})
	web.reject(t, web.get(t, "", auth, bearer(tok)), 404, core.CodeNotFound, "")
}
