package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
)

func TestParseSharedKeys(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 48)
	enc := base64.StdEncoding.EncodeToString
	keys, err := parseSharedKeys(enc(k1) + ", " + enc(k2))
	require.NoError(t, err)
	assert.Equal(t, [][]byte{k1, k2}, keys)

	short := enc(bytes.Repeat([]byte{3}, 31))
	for env, want := range map[string]string{
		short:                 "key 1 is 31 bytes, at least 32",
		enc(k1) + "," + short: "key 2 is 31 bytes",
		enc(k1) + ",":         "key 2 is empty",
		"not base64!":         "key 1 is not standard base64",
		base64.RawURLEncoding.EncodeToString(append(k1, 0xfb, 0xff)): "key 1 is not standard base64",
	} {
		_, err := parseSharedKeys(env)
		require.Error(t, err, env)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), env, "an error never shows a key")
	}

	keys, generated, err := fleetKeys("")
	require.NoError(t, err)
	assert.True(t, generated)
	require.Len(t, keys, 1)
	assert.Len(t, keys[0], core.MinSharedKeyLen)
	again, _, err := fleetKeys(" ")
	require.NoError(t, err)
	assert.NotEqual(t, keys, again, "random")
	keys, generated, err = fleetKeys(enc(k2))
	require.NoError(t, err)
	assert.False(t, generated)
	assert.Equal(t, [][]byte{k2}, keys)
}

// TestBadSharedKeysStopTheDemo: with -redis, a bad LWA_SHARED_KEYS is an
// error at startup that does not show the key.
func TestBadSharedKeysStopTheDemo(t *testing.T) {
	bad := base64.StdEncoding.EncodeToString([]byte("too short to be a fleet key"))
	t.Setenv(core.EnvSharedKeys, bad)
	t.Setenv(core.EnvClientID, "")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-redis", "127.0.0.1:1"}, &safeBuffer{}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), core.EnvSharedKeys+": key 1 is 27 bytes")
	assert.NotContains(t, err.Error(), bad)
}

// freeBase returns a loopback port p such that p, p+1, p+10 and p+11 are
// free: where the documented pair of replicas listens, shifted.
func freeBase(t *testing.T) int {
	t.Helper()
	free := func(p int) bool {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		ln.Close()
		return true
	}
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p+replicaPortStep+1 <= 65535 && free(p) && free(p+1) && free(p+replicaPortStep) && free(p+replicaPortStep+1) {
			return p
		}
	}
	t.Fatal("no four free loopback ports found")
	return 0
}

var replicaLine = regexp.MustCompile(`(?m)^  (` + core.EnvSharedKeys + `=(\S+) )?go run \./cmd/lwademo (.*)$`)

// TestPrintedSecondReplica starts a replica as the package doc says, with
// no key set, then runs the command it prints for the second replica,
// exactly: both start (their four ports do not collide), share one fleet
// key, and a token verified by the first is served by the second from
// Redis.
func TestPrintedSecondReplica(t *testing.T) {
	rs := redistest.Start(t)
	t.Setenv(core.EnvSharedKeys, "")
	p := freeBase(t)
	a := startDemo(t, "-redis", rs.Addr(), "-addr", "127.0.0.1:"+strconv.Itoa(p))
	assert.Contains(t, a.out.String(), "lwademo: fleet key: "+core.EnvSharedKeys+" is unset, so this replica made up one")
	assert.Contains(t, a.out.String(), "The same page on a second origin, calling the API across origins (CORS): http://127.0.0.1:"+strconv.Itoa(p+1)+"/app")
	m := replicaLine.FindStringSubmatch(a.out.String())
	require.NotNil(t, m, "the command for a second replica:\n%s", a.out)
	keys, err := parseSharedKeys(m[2])
	require.NoError(t, err, "a usable key")
	require.Len(t, keys, 1)
	assert.Equal(t, "-redis "+rs.Addr()+" -addr 127.0.0.1:"+strconv.Itoa(p+replicaPortStep), m[3])

	t.Setenv(core.EnvSharedKeys, m[2])
	b := startDemo(t, shellWords(t, m[3])...)
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(p+replicaPortStep), b.addr)
	assert.Contains(t, b.out.String(), "lwademo: fleet key: 1 key(s) from "+core.EnvSharedKeys)
	assert.Contains(t, b.out.String(), "  go run ./cmd/lwademo -redis "+rs.Addr()+" -addr 127.0.0.1:"+strconv.Itoa(p+2*replicaPortStep)+"\n",
		"with the key set, the next command does not print it")
	assert.NotContains(t, b.out.String(), m[2], "nor anywhere else")
	assert.Contains(t, b.out.String(), "http://127.0.0.1:"+strconv.Itoa(p+replicaPortStep+1)+"/app")

	tok := a.fake.Issue(demoClientID, demoCustomer)
	status, body := a.get(t, "/me", tok)
	require.Equal(t, http.StatusOK, status, body)
	status, body = b.get(t, "/me", tok)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "shared cache", b.lastLog(t, 1).how)
	assert.Equal(t, 0, b.fake.CallCount(lwatest.EndpointTokenInfo))
}

func TestReplicaCommand(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb}, 32)
	enc := base64.StdEncoding.EncodeToString(key)
	for _, tc := range []struct {
		addr string
		port int
		web  string
		key  []byte
		want string
	}{
		{"127.0.0.1:8080", 8080, "auto", key, core.EnvSharedKeys + "=" + enc + " go run ./cmd/lwademo -redis r:6379 -addr 127.0.0.1:8090"},
		{"127.0.0.1:0", 41234, "auto", nil, "go run ./cmd/lwademo -redis r:6379 -addr 127.0.0.1:41244"},
		{":8080", 8080, "off", nil, "go run ./cmd/lwademo -redis r:6379 -addr :8090 -web-addr off"},
		{"[::1]:9000", 9000, "127.0.0.1:7000", nil, "go run ./cmd/lwademo -redis r:6379 -addr [::1]:9010"},
		{"127.0.0.1:65530", 65530, "auto", nil, "go run ./cmd/lwademo -redis r:6379 -addr 127.0.0.1:65520"},
	} {
		assert.Equal(t, tc.want, replicaCommand("r:6379", tc.addr, tc.port, tc.web, tc.key), tc.addr)
	}
}
