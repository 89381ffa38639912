package main

// The configurations under deploy/ that no test can run here (Traefik,
// Envoy and the container image need binaries the project's machines do
// not have) are checked against what lwaauthz emits, so that adding a
// header to lwaauthz without stripping it in every proxy fails a test.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emittable are every header name lwaauthz can emit by default, and its
// nginx protocol's.
func emittable() []string {
	names := []string{headerStatus, headerBody, headerWWWAuthenticate, headerRetryAfter}
	for _, n := range defaultHeaderNames {
		names = append(names, n)
	}
	return names
}

func readRepo(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../..", filepath.FromSlash(path)))
	require.NoError(t, err)
	return string(b)
}

// TestDeployStripsEveryHeader: every proxy configuration strips every
// header lwaauthz may emit from the client's request.
func TestDeployStripsEveryHeader(t *testing.T) {
	nginxStrip := readRepo(t, "deploy/nginx/snippets/lwa-strip.conf")
	nginxProtect := readRepo(t, "deploy/nginx/snippets/lwa-protect.conf")
	traefik := readRepo(t, "deploy/traefik/dynamic.yml")
	envoy := readRepo(t, "deploy/envoy/envoy.yaml")
	for _, name := range emittable() {
		assert.Regexp(t, `(?m)^proxy_set_header `+regexp.QuoteMeta(name)+` +"";$`, nginxStrip, "nginx lwa-strip.conf strips %s", name)
		assert.Regexp(t, `(?m)^proxy_set_header `+regexp.QuoteMeta(name)+` +(""|\$lwa_[a-z_]+);$`, nginxProtect, "nginx lwa-protect.conf sets or strips %s", name)
		assert.Regexp(t, `(?m)^ +`+regexp.QuoteMeta(name)+`: ""$`, traefik, "Traefik's lwa-strip middleware strips %s", name)
		assert.Regexp(t, `(?m)^ +- remove: `+regexp.QuoteMeta(strings.ToLower(name))+`$`, envoy, "Envoy's header_mutation removes %s", name)
	}
	for field, name := range defaultHeaderNames {
		v := "$lwa_" + field
		assert.Contains(t, nginxProtect, "auth_request_set "+v, "nginx captures %s", name)
		assert.Regexp(t, `(?m)^proxy_set_header `+regexp.QuoteMeta(name)+` +`+regexp.QuoteMeta(v)+`;$`, nginxProtect)
	}

	// Traefik: the regex both strips the client's X-Lwa-* headers and
	// copies lwaauthz's; it must match every name as Traefik sees it.
	m := regexp.MustCompile(`authResponseHeadersRegex: "([^"]+)"`).FindAllStringSubmatch(traefik, -1)
	require.Len(t, m, 2, "both forwardAuth middlewares")
	for _, sm := range m {
		re, err := regexp.Compile(sm[1])
		require.NoError(t, err)
		for _, name := range emittable() {
			assert.True(t, re.MatchString(name), "%s matches %s", sm[1], name)
		}
		assert.False(t, re.MatchString("X-Forwarded-Lwa-User-Id"))
	}
	assert.Contains(t, traefik, `address: "http://lwaauthz:9000/auth"`)
	assert.Contains(t, envoy, "path_prefix: /auth\n")
	assert.Contains(t, envoy, "{ prefix: x-lwa-, ignore_case: true }")
	assert.Contains(t, envoy, "failure_mode_allow: false")
}

// TestDockerfile: a multi-stage build of a static binary (CGO_ENABLED=0)
// into a distroless image, run as a non-root user.
func TestDockerfile(t *testing.T) {
	d := readRepo(t, "deploy/lwaauthz/Dockerfile")
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(d, -1)
	require.Len(t, froms, 2, "a build stage and a runtime stage")
	assert.True(t, strings.HasPrefix(froms[0][1], "golang:1.26"), froms[0][1])
	assert.Equal(t, "gcr.io/distroless/static-debian12:nonroot", froms[1][1])
	assert.Regexp(t, `(?m)^RUN CGO_ENABLED=0 go build .* \./cmd/lwaauthz$`, d)
	assert.Regexp(t, `(?m)^USER nonroot:nonroot$`, d)
	assert.Regexp(t, `(?m)^ENTRYPOINT \["/usr/local/bin/lwaauthz"\]$`, d)
	assert.Regexp(t, `(?m)^HEALTHCHECK .*"-healthcheck"\]$`, d)
}

// TestEdgeDocShowsDeploy: every nginx block of README.md is, line for
// line, part of a file of deploy/nginx (the configuration the nginx tests
// run).
func TestEdgeDocShowsDeploy(t *testing.T) {
	doc := readRepo(t, "README.md")
	var deploy []string
	require.NoError(t, filepath.WalkDir(filepath.Join("../..", "deploy/nginx"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			deploy = append(deploy, string(b))
		}
		return err
	}))
	blocks := regexp.MustCompile("(?s)```nginx\n(.*?)```").FindAllStringSubmatch(doc, -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		found := false
		for _, f := range deploy {
			found = found || strings.Contains(f, b[1])
		}
		assert.True(t, found, "this block of README.md is not in deploy/nginx:\n%s", b[1])
	}
}
