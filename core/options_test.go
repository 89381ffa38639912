package core_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// clearEnv unsets the variables NewVerifier reads, for this test.
func clearEnv(t *testing.T) {
	t.Setenv(core.EnvClientID, "")
	t.Setenv(core.EnvEndpoint, "")
}

func mustVerifier(t *testing.T, opts ...core.Option) *core.Verifier {
	t.Helper()
	v, err := core.NewVerifier(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, v.Close()) })
	return v
}

func TestRegionConstants(t *testing.T) {
	assert.Equal(t, "https://api.amazon.com", core.EndpointNA)
	assert.Equal(t, "https://api.amazon.co.uk", core.EndpointEU)
	assert.Equal(t, "https://api.amazon.co.jp", core.EndpointFE)
	assert.Equal(t, "LWA_CLIENT_ID", core.EnvClientID)
	assert.Equal(t, "LWA_ENDPOINT", core.EnvEndpoint)
	assert.Equal(t, 2048, core.MaxTokenLen)
}

func TestDefaults(t *testing.T) {
	clearEnv(t)
	v := mustVerifier(t, core.WithClientID(clientID))
	assert.Equal(t, core.EndpointNA, v.Endpoint())
	assert.Equal(t, []string{clientID}, v.ClientIDs())
	assert.Equal(t, 5*time.Second, core.DefaultTimeout)
	assert.Equal(t, 5*time.Minute, core.DefaultCacheTTL)
}

func TestNoClientID(t *testing.T) {
	clearEnv(t)
	for name, opts := range map[string][]core.Option{
		"nothing":              nil,
		"empty WithClientID":   {core.WithClientID()},
		"blank WithClientID":   {core.WithClientID("", "  ")},
		"nil options":          {nil, nil},
		"endpoint only":        {core.WithEndpoint(core.EndpointEU)},
		"empty env is nothing": {core.WithTimeout(time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			v, err := core.NewVerifier(opts...)
			require.Error(t, err)
			assert.Nil(t, v)
			assert.Contains(t, err.Error(), core.EnvClientID, "the message says how to configure one")
		})
	}

	t.Setenv(core.EnvClientID, " , ,, ")
	_, err := core.NewVerifier()
	require.Error(t, err, "a list of blanks is no client ID")
}

func TestClientIDFromEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv(core.EnvClientID, " "+clientID+" , "+deviceClientID+" ,, ")
	v := mustVerifier(t)
	assert.Equal(t, []string{clientID, deviceClientID}, v.ClientIDs())

	// The option wins over the environment.
	v = mustVerifier(t, core.WithClientID(otherClientID))
	assert.Equal(t, []string{otherClientID}, v.ClientIDs())

	// WithClientID trims blanks too.
	v = mustVerifier(t, core.WithClientID(" "+clientID+" ", ""))
	assert.Equal(t, []string{clientID}, v.ClientIDs())
}

func TestClientIDsAreCopied(t *testing.T) {
	clearEnv(t)
	ids := []string{clientID, deviceClientID}
	v := mustVerifier(t, core.WithClientID(ids...))
	ids[0] = otherClientID
	got := v.ClientIDs()
	assert.Equal(t, []string{clientID, deviceClientID}, got)
	got[0] = otherClientID
	assert.Equal(t, []string{clientID, deviceClientID}, v.ClientIDs())
}

// TestClientIDFromEnvIsUsedForAudience: LWA_CLIENT_ID's second ID accepts
// tokens end to end.
func TestClientIDFromEnvIsUsedForAudience(t *testing.T) {
	clearEnv(t)
	srv := newServer(t)
	t.Setenv(core.EnvClientID, clientID+", "+deviceClientID)
	t.Setenv(core.EnvEndpoint, srv.URL)
	v := mustVerifier(t, core.WithLogger(discardLogger()))
	requireVerified(t, v, srv.Issue(deviceClientID, alice), alice)
}

func TestEndpointFromEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv(core.EnvEndpoint, core.EndpointFE)
	v := mustVerifier(t, core.WithClientID(clientID))
	assert.Equal(t, core.EndpointFE, v.Endpoint())

	// The option wins over the environment.
	v = mustVerifier(t, core.WithClientID(clientID), core.WithEndpoint(core.EndpointEU))
	assert.Equal(t, core.EndpointEU, v.Endpoint())

	t.Setenv(core.EnvEndpoint, "ftp://api.amazon.com")
	_, err := core.NewVerifier(core.WithClientID(clientID))
	require.Error(t, err, "an invalid LWA_ENDPOINT is an error")
}

func TestEndpointNormalised(t *testing.T) {
	clearEnv(t)
	for in, want := range map[string]string{
		"https://api.amazon.com/":      "https://api.amazon.com",
		"https://api.amazon.com//":     "https://api.amazon.com",
		" https://api.amazon.co.uk ":   "https://api.amazon.co.uk",
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/lwa/":   "http://127.0.0.1:8080/lwa",
		"HTTPS://api.amazon.co.jp":     "https://api.amazon.co.jp",
		"https://[::1]:8443/":          "https://[::1]:8443",
		"https://api.amazon.com/proxy": "https://api.amazon.com/proxy",
	} {
		v := mustVerifier(t, core.WithClientID(clientID), core.WithEndpoint(in))
		assert.Equal(t, want, v.Endpoint(), "WithEndpoint(%q)", in)
	}
}

// TestEndpointWithPath: a base URL with a path prefixes both endpoints.
func TestEndpointWithPath(t *testing.T) {
	srv := newServer(t)
	v := mustVerifier(t, core.WithClientID(clientID), core.WithEndpoint(srv.URL+"/"), core.WithLogger(discardLogger()))
	requireVerified(t, v, srv.Issue(clientID, alice), alice)
}

func TestInvalidEndpoints(t *testing.T) {
	clearEnv(t)
	for _, ep := range []string{
		"ftp://x",
		"not a url",
		"",
		"   ",
		"https://",
		"http://",
		"https:///path",
		"api.amazon.com",
		"//api.amazon.com",
		"file:///etc/passwd",
		"https://user:pass@api.amazon.com",
		"https://api.amazon.com?x=1",
		"https://api.amazon.com/#frag",
		"https://api.amazon.com/%zz",
		"https://api amazon.com",
		"javascript:alert(1)",
	} {
		v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(ep))
		assert.Error(t, err, "WithEndpoint(%q)", ep)
		assert.Nil(t, v)
		if v != nil {
			v.Close()
		}
	}
}

func TestInvalidOptions(t *testing.T) {
	clearEnv(t)
	for name, opt := range map[string]core.Option{
		"negative timeout":          core.WithTimeout(-time.Second),
		"zero timeout":              core.WithTimeout(0),
		"negative cache TTL":        core.WithCacheTTL(-time.Nanosecond),
		"negative negative TTL":     core.WithNegativeCacheTTL(-time.Second),
		"zero cache size":           core.WithCacheSize(0),
		"negative cache size":       core.WithCacheSize(-1),
		"zero max concurrent":       core.WithMaxConcurrentVerifications(0),
		"negative max concurrent":   core.WithMaxConcurrentVerifications(-3),
		"unknown required field":    core.WithRequiredFields("phone"),
		"user_id is no field":       core.WithRequiredFields(core.FieldEmail, "user_id"),
		"case matters in fields":    core.WithRequiredFields("Email"),
		"empty required field name": core.WithRequiredFields(""),
	} {
		t.Run(name, func(t *testing.T) {
			v, err := core.NewVerifier(core.WithClientID(clientID), opt)
			require.Error(t, err)
			assert.Nil(t, v)
		})
	}
}

func TestValidOptions(t *testing.T) {
	clearEnv(t)
	for name, opt := range map[string]core.Option{
		"zero cache TTL":          core.WithCacheTTL(0),
		"zero negative cache TTL": core.WithNegativeCacheTTL(0),
		"all required fields":     core.WithRequiredFields(core.FieldEmail, core.FieldName, core.FieldPostalCode),
		"no required fields":      core.WithRequiredFields(),
		"cache size 1":            core.WithCacheSize(1),
		"one verification":        core.WithMaxConcurrentVerifications(1),
		"query off":               core.WithQueryToken(false),
		"nil logger":              core.WithLogger(nil),
		"nil HTTP client":         core.WithHTTPClient(nil),
		"nil option":              nil,
	} {
		t.Run(name, func(t *testing.T) {
			mustVerifier(t, core.WithClientID(clientID), opt)
		})
	}
}

func TestFieldConstants(t *testing.T) {
	assert.Equal(t, "email", core.FieldEmail)
	assert.Equal(t, "name", core.FieldName)
	assert.Equal(t, "postal_code", core.FieldPostalCode)
}

// TestRequiredFields: a required field that is present passes; each that
// is missing is a 401.
func TestRequiredFields(t *testing.T) {
	srv := newServer(t)
	all := newVerifier(t, srv, core.WithRequiredFields(core.FieldEmail, core.FieldName, core.FieldPostalCode))
	requireVerified(t, all, srv.Issue(clientID, alice), alice)

	noPostal := alice
	noPostal.PostalCode = ""
	_, err := all.Verify(t.Context(), srv.Issue(clientID, noPostal))
	requireRejection(t, err, 401, core.CodeInsufficientScope, core.ErrInsufficientScope)

	email := newVerifier(t, srv, core.WithRequiredFields(core.FieldEmail))
	requireVerified(t, email, srv.Issue(clientID, alice, lwatest.WithScopes("profile")), core.Profile{UserID: alice.UserID, Email: alice.Email, Name: alice.Name})
}

// nullShared is a SharedCache that holds nothing, for configuration tests.
type nullShared struct{}

func (nullShared) Get(_ context.Context, keys ...string) ([][]byte, error) {
	return make([][]byte, len(keys)), nil
}
func (nullShared) Set(context.Context, string, []byte, time.Duration) error { return nil }
func (nullShared) SetNX(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}
func (nullShared) Delete(context.Context, ...string) error      { return nil }
func (nullShared) Publish(context.Context, []byte) error        { return nil }
func (nullShared) Subscribe(func([]byte), func()) (stop func()) { return func() {} }

// TestMissingFleetKey: a shared cache needs the fleet's key, from
// WithSharedKeys or LWA_SHARED_KEYS; keys shorter than 32 bytes and keys
// that are not base64 are refused, and the error never shows a key.
func TestMissingFleetKey(t *testing.T) {
	t.Setenv(core.EnvSharedKeys, "")
	base := []core.Option{core.WithClientID(clientID), core.WithSharedCache(nullShared{})}
	_, err := core.NewVerifier(base...)
	require.Error(t, err)
	assert.Contains(t, err.Error(), core.EnvSharedKeys)

	_, err = core.NewVerifier(append(base, core.WithSharedKeys([]byte("short")))...)
	require.ErrorContains(t, err, "at least 32")

	good := strings.Repeat("k", 32)
	v, err := core.NewVerifier(append(base, core.WithSharedKeys([]byte(good)))...)
	require.NoError(t, err)
	require.NoError(t, v.Close())

	t.Setenv(core.EnvSharedKeys, base64.StdEncoding.EncodeToString([]byte(good))+", "+base64.StdEncoding.EncodeToString([]byte(strings.Repeat("n", 40))))
	v, err = core.NewVerifier(base...)
	require.NoError(t, err, "keys from the environment")
	require.NoError(t, v.Close())

	secret := "not-base64!" + strings.Repeat("s", 40)
	t.Setenv(core.EnvSharedKeys, secret)
	_, err = core.NewVerifier(base...)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sss", "the error names the key by position, never by value")

	// Without a shared cache, no key is needed.
	t.Setenv(core.EnvSharedKeys, "")
	v, err = core.NewVerifier(core.WithClientID(clientID))
	require.NoError(t, err)
	require.NoError(t, v.Close())
}
