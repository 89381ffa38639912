package rpckit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
	"github.com/go-lwa/lwa/lwatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.periodicCleanUp[...]"),
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.updateCoarseClock"))
}

func TestCodeOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want rpckit.Code
	}{
		{core.ErrMissingToken, rpckit.Unauthenticated},
		{core.ErrMalformedToken, rpckit.InvalidArgument},
		{core.ErrInvalidToken, rpckit.Unauthenticated},
		{core.ErrNotOurToken, rpckit.Unauthenticated},
		{core.ErrInsufficientScope, rpckit.PermissionDenied},
		{core.ErrUpstream, rpckit.Unavailable},
		{core.ErrUpstreamTimeout, rpckit.DeadlineExceeded},
		{core.ErrUpstreamUnavailable, rpckit.Unavailable},
		{core.ErrOverloaded, rpckit.Unavailable},
		{core.AsError(core.ErrUpstreamTimeout), rpckit.DeadlineExceeded},
		{core.AsError(context.Canceled), rpckit.Canceled},
		{context.DeadlineExceeded, rpckit.DeadlineExceeded},
		{fmt.Errorf("other"), rpckit.Internal},
		{&core.Error{Status: 401, Code: core.CodeInvalidToken}, rpckit.Unauthenticated}, // RFC 6750's row
		{&core.Error{Status: 403, Code: core.CodeInsufficientScope}, rpckit.PermissionDenied},
	} {
		assert.Equal(t, c.want, rpckit.CodeOf(c.err), "%v", c.err)
	}
	assert.True(t, rpckit.Unauthenticated.Valid())
	assert.True(t, rpckit.Canceled.Valid())
	assert.False(t, rpckit.OK.Valid())
	assert.False(t, rpckit.Code(17).Valid())
}

func TestDetails(t *testing.T) {
	e := &core.Error{Status: 503, Code: core.CodeServerError, Description: "paused", RequestID: "rid", RetryAfter: 1100 * time.Millisecond}
	info := rpckit.ErrorInfo(e)
	assert.Equal(t, core.CodeServerError, info.GetReason())
	assert.Equal(t, rpckit.ErrorDomain, info.GetDomain())
	assert.Equal(t, map[string]string{rpckit.MetadataRequestID: "rid"}, info.GetMetadata())
	assert.Equal(t, 2*time.Second, rpckit.RetryInfo(e).GetRetryDelay().AsDuration(), "rounded up to whole seconds")
	assert.Nil(t, rpckit.RetryInfo(&core.Error{Status: 502}))
	assert.Empty(t, rpckit.ErrorInfo(&core.Error{Status: 400, Code: core.CodeInvalidRequest}).GetMetadata())
	assert.Equal(t, "paused", rpckit.Message(e))
	assert.Equal(t, "lwa: server_error", rpckit.Message(&core.Error{Status: 500}), "no code, no description")
}

func TestGuard(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithTokenHeader("X-Api-Token"), core.WithTokenCookie("lwa"))
	fields := []string{core.FieldEmail}
	methods := map[string]core.Policy{
		"/a.S/":  {Optional: true},
		"/a.S/M": {RequiredFields: fields},
	}
	skipped := 0
	g := rpckit.NewGuard("pkg.New", v, rpckit.Options{
		Policy:  core.Policy{ClientIDs: []string{lwatest.ClientID}},
		Methods: methods,
		Skip: func(_ context.Context, m string) bool {
			skipped++
			return m == "/b.S/Skip"
		},
	}, true)
	fields[0] = core.FieldName // the guard keeps its own copy
	methods["/b.S/"] = core.Policy{Optional: true}

	assert.Equal(t, []string{core.FieldEmail}, g.PolicyFor("/a.S/M").RequiredFields, "the method's own entry")
	assert.True(t, g.PolicyFor("/a.S/N").Optional, "the service's entry")
	assert.Equal(t, []string{lwatest.ClientID}, g.PolicyFor("/b.S/M").ClientIDs, "the default")
	assert.False(t, g.PolicyFor("/b.S/M").Optional)

	assert.True(t, g.Skip(context.Background(), "/grpc.health.v1.Health/Check"))
	assert.True(t, g.Skip(context.Background(), "/grpc.health.v1.Health/Watch"))
	assert.Zero(t, skipped, "health is decided before Skip")
	assert.True(t, g.Skip(context.Background(), "/b.S/Skip"))
	assert.False(t, g.Skip(context.Background(), "/b.S/M"))
	assert.False(t, g.Skip(context.Background(), "/grpc.health.v1.HealthX/Check"))
	assert.Equal(t, []string{"x-api-token"}, g.Headers)
	assert.Equal(t, []string{"lwa"}, g.Cookies)

	checked := rpckit.NewGuard("pkg.New", v, rpckit.Options{CheckHealth: true}, false)
	assert.False(t, checked.Skip(context.Background(), "/grpc.health.v1.Health/Check"))
	assert.Equal(t, []string{"X-Api-Token"}, checked.Headers)

	for _, key := range []string{"", "/", "//", "a.S/M", "/a.S", "/a.S/M/", "//M"} {
		assert.PanicsWithValue(t,
			fmt.Sprintf("pkg.New: Methods key %q is neither a full method name (\"/package.Service/Method\") nor a service (\"/package.Service/\")", key),
			func() { rpckit.NewGuard("pkg.New", v, rpckit.Options{Methods: map[string]core.Policy{key: {}}}, true) })
	}
	assert.Panics(t, func() {
		rpckit.NewGuard("pkg.New", v, rpckit.Options{Methods: map[string]core.Policy{"/a.S/M": {RequiredFields: []string{"mail"}}}}, true)
	})
}

func TestCookieValues(t *testing.T) {
	assert.Equal(t, []string{"1", "3", "2"}, rpckit.CookieValues([]string{"a=1; b=2", "a=3"}, []string{"a", "b"}))
	assert.Nil(t, rpckit.CookieValues(nil, []string{"a"}))
	assert.Nil(t, rpckit.CookieValues([]string{"a=1"}, nil))
	assert.Equal(t, []string{"ok"}, rpckit.CookieValues([]string{"bad cookie; a=ok"}, []string{"a"}), "invalid pairs are skipped")
}

func TestConfig(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	type cfg struct{ n int }
	assert.Equal(t, cfg{}, rpckit.Config[cfg]("f", v, nil))
	assert.Equal(t, cfg{2}, rpckit.Config("f", v, []cfg{{2}}))
	assert.PanicsWithValue(t, "f: want a non-nil *core.Verifier and at most one Config", func() { rpckit.Config[cfg]("f", nil, nil) })
	assert.PanicsWithValue(t, "f: want a non-nil *core.Verifier and at most one Config", func() { rpckit.Config("f", v, []cfg{{}, {}}) })
	require.NotNil(t, v)
}
