package rpcconformance

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func testRequirePanics(t *testing.T, a Adapter) {
	t.Setenv(core.EnvClientID, "")
	t.Setenv(core.EnvEndpoint, "")

	msg := panicMessage(func() { a.Require() })
	require.NotEmpty(t, msg, "Require without a client ID must panic")
	assert.True(t, strings.HasPrefix(msg, a.Name+".Require: "), "panic message %q should name the package", msg)
	assert.Contains(t, msg, core.EnvClientID)

	msg = panicMessage(func() { a.Require(core.WithClientID(ClientID), core.WithEndpoint("ftp://api.amazon.com")) })
	require.NotEmpty(t, msg, "Require with an invalid endpoint must panic")
	assert.Contains(t, msg, "endpoint")

	msg = panicMessage(func() { a.Require(core.WithClientID(ClientID), core.WithTimeout(-time.Second)) })
	require.NotEmpty(t, msg, "Require with a negative timeout must panic")
	assert.Contains(t, msg, "timeout")
}

func testRequireFromEnv(t *testing.T, a Adapter) {
	e := &env{a: a, srv: lwatest.NewServer()}
	t.Cleanup(e.srv.Close)
	t.Setenv(core.EnvClientID, "amzn1.application-oa2-client.unused, "+ClientID)
	t.Setenv(core.EnvEndpoint, e.srv.URL)
	e.serve(t, Setup{}) // Require() with no options

	tok, p := e.issue("alice")
	e.acceptBoth(t, &p, auth, bearer(tok))
	e.calls(t, 1)
	other := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"})
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeNotFound}, tokeninfoRID, auth, bearer(other))
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID)
}
