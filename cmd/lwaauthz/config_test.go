package main

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func key(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

// TestConfigDefaults: the defaults, with only a client ID from
// LWA_CLIENT_ID.
func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, envOf(map[string]string{core.EnvClientID: "amzn1.application-oa2-client.a, amzn1.application-oa2-client.b"}), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, []string{"amzn1.application-oa2-client.a", "amzn1.application-oa2-client.b"}, c.clientIDs)
	assert.Equal(t, ":9000", c.addr)
	assert.Equal(t, ":9001", c.adminAddr)
	assert.Equal(t, core.EndpointNA, c.endpoint)
	assert.Equal(t, core.DefaultTimeout, c.timeout)
	assert.Equal(t, core.DefaultCacheTTL, c.cacheTTL)
	assert.True(t, c.queryToken)
	assert.False(t, c.passPreflight)
	assert.Equal(t, []identityHeader{{fieldUserID, "X-Lwa-User-Id"}, {fieldEmail, "X-Lwa-Email"}}, c.headers)
	assert.Empty(t, c.redis)
	assert.Empty(t, c.sharedKeys)
	assert.Equal(t, slog.LevelInfo, c.logLevel)
}

// TestConfigSources: a flag beats its environment variable, which beats
// the default; every flag has one.
func TestConfigSources(t *testing.T) {
	env := map[string]string{
		core.EnvClientID:              "from-env",
		"LWAAUTHZ_REGION":             "eu",
		"LWAAUTHZ_CACHE_TTL":          "10m",
		"LWAAUTHZ_TIMEOUT":            "2s",
		"LWAAUTHZ_QUERY_TOKEN":        "false",
		"LWAAUTHZ_HEADERS":            "user_id,name",
		"LWAAUTHZ_REQUIRE":            "email",
		"LWAAUTHZ_APP_ID":             "amzn1.application.x",
		"LWAAUTHZ_REDIS":              "redis:6379",
		"LWAAUTHZ_PASS_PREFLIGHT":     "true",
		"LWAAUTHZ_ADMIN_ADDR":         "",
		"LWAAUTHZ_BREAKER_FAILURES":   "3",
		core.EnvSharedKeys:            key(1) + "," + key(2),
		"LWAAUTHZ_SHUTDOWN_DELAY":     "5s",
		"LWAAUTHZ_NEGATIVE_CACHE_TTL": "1s",
	}
	c, err := parseConfig([]string{"-client-id", "from-flag", "-timeout", "3s"}, envOf(env), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, []string{"from-flag"}, c.clientIDs, "flag over environment")
	assert.Equal(t, 3*time.Second, c.timeout, "flag over environment")
	assert.Equal(t, core.EndpointEU, c.endpoint)
	assert.Equal(t, 10*time.Minute, c.cacheTTL)
	assert.Equal(t, time.Second, c.negativeTTL)
	assert.False(t, c.queryToken)
	assert.True(t, c.passPreflight)
	assert.Equal(t, []identityHeader{{fieldUserID, "X-Lwa-User-Id"}, {fieldName, "X-Lwa-Name"}}, c.headers)
	assert.Equal(t, []string{core.FieldEmail}, c.required)
	assert.Equal(t, []string{"amzn1.application.x"}, c.appIDs)
	assert.Equal(t, "redis:6379", c.redis)
	assert.Len(t, c.sharedKeys, 2)
	assert.Equal(t, ":9001", c.adminAddr, "an empty variable is unset")
	assert.Equal(t, 3, c.breakerFails)
	assert.Equal(t, 5*time.Second, c.shutdownDelay)

	for _, name := range []string{"addr", "admin-addr", "cache-ttl", "local-cache-ttl", "stale-if-error", "breaker-cooldown",
		"max-concurrent", "max-pending", "token-header", "token-cookie", "rfc6750", "shared-keys-file", "shutdown-timeout", "log-level", "healthcheck"} {
		assert.True(t, strings.HasPrefix(envName(name), "LWAAUTHZ_"), name)
	}
	assert.Equal(t, core.EnvEndpoint, envName("endpoint"))
}

// TestConfigRegions: -region picks Amazon's endpoint; -endpoint replaces
// it; both at once is an error.
func TestConfigRegions(t *testing.T) {
	env := envOf(map[string]string{core.EnvClientID: "x"})
	for region, want := range map[string]string{"na": core.EndpointNA, "eu": core.EndpointEU, "FE": core.EndpointFE} {
		c, err := parseConfig([]string{"-region", region}, env, &bytes.Buffer{})
		require.NoError(t, err)
		assert.Equal(t, want, c.endpoint)
	}
	c, err := parseConfig([]string{"-endpoint", "http://127.0.0.1:1"}, env, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1", c.endpoint)
	c, err = parseConfig(nil, envOf(map[string]string{core.EnvClientID: "x", core.EnvEndpoint: "http://fake"}), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "http://fake", c.endpoint)

	_, err = parseConfig([]string{"-region", "eu", "-endpoint", "http://x"}, env, &bytes.Buffer{})
	assert.ErrorContains(t, err, "not both")
	_, err = parseConfig([]string{"-region", "eu"}, envOf(map[string]string{core.EnvClientID: "x", core.EnvEndpoint: "http://fake"}), &bytes.Buffer{})
	assert.ErrorContains(t, err, "not both")
	_, err = parseConfig([]string{"-region", "mars"}, env, &bytes.Buffer{})
	assert.ErrorContains(t, err, "want na, eu or fe")
}

// TestConfigErrors: every misconfiguration is refused at startup, with a
// message naming what to fix (and never a secret).
func TestConfigErrors(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(secretFile, []byte(key(7)+"\n"+key(8)+"\n"), 0o600))
	shortKey := base64.StdEncoding.EncodeToString([]byte("short-secret"))
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no client ID", nil, nil, "no client ID"},
		{"blank client IDs", []string{"-client-id", " , "}, nil, "no client ID"},
		{"unknown flag", []string{"-client-id", "x", "-bogus"}, nil, "flag provided but not defined"},
		{"argument", []string{"-client-id", "x", "extra"}, nil, "unexpected arguments"},
		{"bad duration in env", []string{"-client-id", "x"}, map[string]string{"LWAAUTHZ_CACHE_TTL": "soon"}, "LWAAUTHZ_CACHE_TTL"},
		{"unknown required field", []string{"-client-id", "x", "-require", "shoe_size"}, nil, `unknown profile field "shoe_size"`},
		{"unknown header field", []string{"-client-id", "x", "-headers", "user_id,shoe_size"}, nil, `unknown field "shoe_size"`},
		{"header without prefix", []string{"-client-id", "x", "-headers", "user_id=X-User"}, nil, "must start with X-Lwa-"},
		{"header with a space", []string{"-client-id", "x", "-headers", "user_id=X-Lwa-User Id"}, nil, "only letters"},
		{"protocol header", []string{"-client-id", "x", "-headers", "user_id=X-Lwa-Status"}, nil, "lwaauthz's own"},
		{"same header twice", []string{"-client-id", "x", "-headers", "user_id=X-Lwa-A,email=x-lwa-a"}, nil, "given twice"},
		{"same field twice", []string{"-client-id", "x", "-headers", "user_id,user_id=X-Lwa-B"}, nil, "given twice"},
		{"no header", []string{"-client-id", "x", "-headers", " "}, nil, "no field"},
		{"log level", []string{"-client-id", "x", "-log-level", "loud"}, nil, "-log-level"},
		{"redis without keys", []string{"-client-id", "x", "-redis", "r:6379"}, nil, "LWA_SHARED_KEYS"},
		{"short key", []string{"-client-id", "x", "-redis", "r:6379"}, map[string]string{core.EnvSharedKeys: shortKey}, "key 1 has 12 bytes"},
		{"key not base64", []string{"-client-id", "x"}, map[string]string{core.EnvSharedKeys: key(1) + ",not-base64!"}, "key 2 is not standard base64"},
		{"keys twice", []string{"-client-id", "x", "-shared-keys-file", secretFile}, map[string]string{core.EnvSharedKeys: key(1)}, "not both"},
		{"missing keys file", []string{"-client-id", "x", "-shared-keys-file", secretFile + ".missing"}, nil, "-shared-keys-file"},
		{"shutdown timeout", []string{"-client-id", "x", "-shutdown-timeout", "0s"}, nil, "-shutdown-timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseConfig(c.args, envOf(c.env), &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "short-secret")
			assert.NotContains(t, err.Error(), shortKey)
		})
	}

	c, err := parseConfig([]string{"-client-id", "x", "-redis", "r:6379", "-shared-keys-file", secretFile}, envOf(nil), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{8}, 32)}, c.sharedKeys)
}
