package rpcconformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
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

	e.acceptBoth(t, nil)
	e.acceptBoth(t, nil, auth, "")
	e.noUpstream(t)
	bad := rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}
	e.rejectBoth(t, bad, noRID, auth, "Bearer")
	e.rejectBoth(t, bad, noRID, auth, bearer("Atza|a b"))
	e.noUpstream(t)
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidToken}, tokeninfoRID, auth, bearer(revoked))
	e.acceptBoth(t, &p, auth, bearer(tok))
}

// testSkip: a call the Skip function lets through is not even looked at;
// the others are checked. Skip sees the method's full name.
func testSkip(t *testing.T, a Adapter) {
	var mu sync.Mutex
	var seenMethods []string
	e := newEnv(t, a, Setup{Skip: func(ctx context.Context, fullMethod string) bool {
		if ctx == nil {
			panic("Skip without a context")
		}
		mu.Lock()
		defer mu.Unlock()
		seenMethods = append(seenMethods, fullMethod)
		return fullMethod == OtherMethod
	}})
	tok, p := e.issue("alice")
	e.accept(t, e.call(t, OtherMethod), nil)
	e.accept(t, e.call(t, OtherMethod, auth, bearer(tok)), nil) // skipped: not even verified
	e.accept(t, e.call(t, OtherMethod, auth, "Bearer"), nil)
	e.noUpstream(t)
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID)
	e.acceptBoth(t, &p, auth, bearer(tok))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{OtherMethod, OtherMethod, OtherMethod, UnaryMethod, StreamMethod, UnaryMethod, StreamMethod}, seenMethods)
}

// testHealth: the standard health service passes untouched by default, and
// is checked like any method with CheckHealth.
func testHealth(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	r := e.call(t, HealthMethod)
	require.Equal(t, codeOK, r.Code, "health without a token: %q", r.Message)
	assert.Equal(t, []string{"SERVING"}, r.Replies)
	r = e.call(t, HealthMethod, auth, "Bearer") // not even looked at
	require.Equal(t, codeOK, r.Code, "%q", r.Message)
	e.noUpstream(t)
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID)

	checked := newEnvWith(t, a, e, Setup{CheckHealth: true})
	checked.reject(t, checked.call(t, HealthMethod), rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest})
	tok, _ := e.issue("prober")
	r = checked.call(t, HealthMethod, auth, bearer(tok))
	require.Equal(t, codeOK, r.Code, "%q", r.Message)
	assert.Equal(t, []string{"SERVING"}, r.Replies)
}

// testMethodPolicies: a method's own policy, a service's, and the default
// one, sharing the verifier's cache.
func testMethodPolicies(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{
		Policy: core.Policy{ClientIDs: []string{ClientID}},
		Methods: map[string]core.Policy{
			UnaryMethod:              {RequiredFields: []string{core.FieldPostalCode}},
			"/" + OtherService + "/": {Optional: true},
		},
	})
	tok, p := e.issue("alice")
	noPostal, np := e.issue("bob", lwatest.WithScopes("profile"))
	np.PostalCode = "" // not shared
	e.accept(t, e.unary(t, auth, bearer(tok)), &p)
	// A method's own requirement is decided here, not by Amazon: no
	// request id.
	e.reject(t, e.unary(t, auth, bearer(noPostal)), rejection{code: codePermissionDenied, reason: core.CodeInsufficientScope})
	// The stream method has the default policy: bob passes, without asking
	// Amazon again.
	calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
	e.accept(t, e.stream(t, auth, bearer(noPostal)), &np)
	assert.Equal(t, calls, e.srv.CallCount(lwatest.EndpointTokenInfo), "one cache for every method")
	// The other service's policy: optional.
	e.accept(t, e.call(t, OtherMethod), nil)
	e.accept(t, e.call(t, OtherMethod, auth, bearer(noPostal)), &np)

	// A policy restricted to another client ID refuses the token, like
	// another app's.
	devices := newEnvWith(t, a, e, Setup{Methods: map[string]core.Policy{
		"/" + ProbeService + "/": {ClientIDs: []string{"amzn1.application-oa2-client.devices"}},
	}})
	devices.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeNotFound}, noRID, auth, bearer(tok))
	devices.accept(t, devices.call(t, OtherMethod, auth, bearer(tok)), &p)
}

// testPolicyValidated: a configuration that cannot mean what it says (a
// typo in a required field would let every token through; a typo in a
// method name would leave the method on the default policy) panics when the
// interceptors are built, with a message naming the package.
func testPolicyValidated(t *testing.T, a Adapter) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	v, err := core.NewVerifier(core.WithClientID(ClientID), core.WithEndpoint(srv.URL), core.WithLogger(quiet))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	bad := []core.Policy{
		{RequiredFields: []string{"postalcode"}},
		{RequiredFields: []string{core.FieldEmail, "Email"}},
		{ClientIDs: []string{""}},
		{CheckPreflight: true, PassPreflight: true},
	}
	var setups []Setup
	for _, pol := range bad {
		setups = append(setups, Setup{Policy: pol}, Setup{Methods: map[string]core.Policy{UnaryMethod: pol}})
	}
	for _, key := range []string{"", "/", "//", "lwa.conformance.Probe/Unary", "/lwa.conformance.Probe", "/lwa.conformance.Probe/Unary/", "//Unary"} {
		setups = append(setups, Setup{Methods: map[string]core.Policy{key: {}}})
	}
	for _, s := range setups {
		s.Verifier = v
		msg := panicMessage(func() { a.Serve(t, s) })
		require.NotEmpty(t, msg, "the interceptor with %+v must panic", s)
		assert.True(t, strings.HasPrefix(msg, a.Name+"."), "panic message %q should name the package", msg)
	}
}

// testAppID: with core.WithAppID, a token issued to another client ID of
// the same LWA app (a device's, say) is accepted and its details name the
// client and the app; a verifier without it refuses it; another app's token
// is refused either way.
func testAppID(t *testing.T, a Adapter) {
	const app = "amzn1.application.rpcconformance"
	const tvClient = "amzn1.application-oa2-client.rpcconformance-tv"
	e := newEnv(t, a, Setup{}, core.WithAppID(app))
	p := core.Profile{UserID: "amzn1.account.TV", Name: "tv", Email: "tv@example.com"}
	tok := e.srv.Issue(tvClient, p, lwatest.WithAppID(app))
	for _, c := range []call{e.unary(t, auth, bearer(tok)), e.stream(t, auth, bearer(tok))} {
		for _, s := range e.accept(t, c, &p) {
			require.NotNil(t, s.Info)
			assert.Equal(t, tvClient, s.Info.ClientID)
			assert.Equal(t, app, s.Info.AppID)
		}
	}
	foreign := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"}, lwatest.WithAppID("amzn1.application.other"))
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeNotFound}, tokeninfoRID, auth, bearer(foreign))

	strict := newEnv(t, a, Setup{})
	tok2 := strict.srv.Issue(tvClient, p, lwatest.WithAppID(app))
	strict.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeNotFound}, tokeninfoRID, auth, bearer(tok2))

	// A policy restricted to the web client ID refuses the TV's token.
	web := newEnvWith(t, a, e, Setup{Policy: core.Policy{ClientIDs: []string{ClientID}}})
	web.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeNotFound}, noRID, auth, bearer(tok))
}

// panicMessage returns what f panicked with, as a string ("" if it did not).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
			if msg == "" {
				msg = "(empty panic)"
			}
		}
	}()
	f()
	return ""
}
