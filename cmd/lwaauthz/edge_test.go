package main

// The test bed behind a real nginx: the example configuration of
// deploy/nginx, verbatim but for the addresses, in front of lwaauthz
// replicas and a sample upstream that records what it receives.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/internal/nginxtest"
)

// deployDir is deploy/nginx, from this package's directory.
const deployDir = "../../deploy/nginx"

// The lines of deploy/nginx/conf.d/lwaauthz.conf that the tests replace,
// each exactly once: the addresses.
const (
	siteAuthzLine  = "server 127.0.0.1:9000;"
	siteAppLine    = "server 127.0.0.1:8080;"
	siteListenLine = "listen 80;"
)

// app is the sample upstream: it records every request it receives and
// answers 200 with X-App: reached.
type app struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request // clones, without bodies
}

func startApp(t testing.TB) *app {
	t.Helper()
	a := &app{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.reqs = append(a.reqs, r.Clone(r.Context()))
		a.mu.Unlock()
		w.Header().Set("X-App", "reached")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"user_id": r.Header.Get("X-Lwa-User-Id"), "path": r.URL.Path})
	}))
	t.Cleanup(a.Close)
	return a
}

// count is the number of requests the app received.
func (a *app) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

// last is the last request the app received.
func (a *app) last(t testing.TB) *http.Request {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	require.NotEmpty(t, a.reqs, "the app received nothing")
	return a.reqs[len(a.reqs)-1]
}

// edge is nginx running deploy/nginx in front of lwaauthz and the app.
type edge struct {
	ngx    *nginxtest.Server
	app    *app
	client *http.Client
}

// startEdge starts nginx with deploy/nginx's configuration: the site with
// its lwaauthz upstream pointing at authzAddrs (host:port, one line per
// replica), its app upstream at a, and listening on loopback. edits
// replace text in the snippets (file name → old → new), for tests that
// need a shorter timeout; each must match exactly once.
func startEdge(t testing.TB, a *app, authzAddrs []string, edits map[string][2]string) *edge {
	t.Helper()
	site := readDeploy(t, "conf.d/lwaauthz.conf")
	snippets := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(deployDir, "snippets"))
	require.NoError(t, err)
	for _, e := range entries {
		name := "snippets/" + e.Name()
		snippets[name] = readDeploy(t, name)
	}
	for name, ed := range edits {
		snippets[name] = replaceOnce(t, name, snippets[name], ed[0], ed[1])
	}
	var servers []string
	for _, addr := range authzAddrs {
		servers = append(servers, "server "+addr+";")
	}
	site = replaceOnce(t, "site", site, siteAuthzLine, strings.Join(servers, "\n    "))
	site = replaceOnce(t, "site", site, siteAppLine, "server "+strings.TrimPrefix(a.URL, "http://")+";")
	ngx := nginxtest.Start(t, func(port int) (string, map[string]string) {
		files := map[string]string{"conf.d/lwaauthz.conf": replaceOnce(t, "site", site, siteListenLine, "listen 127.0.0.1:"+strconv.Itoa(port)+";")}
		for k, v := range snippets {
			files[k] = v
		}
		return "include conf.d/lwaauthz.conf;", files
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &edge{ngx: ngx, app: a, client: &http.Client{Transport: tr}}
}

func readDeploy(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, filepath.FromSlash(name)))
	require.NoError(t, err)
	return string(b)
}

func replaceOnce(t testing.TB, what, s, old, new string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(s, old), "%s must contain %q exactly once", what, old)
	return strings.Replace(s, old, new, 1)
}

// do sends a client request to nginx.
func (e *edge) do(t testing.TB, method, path string, h http.Header) response {
	t.Helper()
	return send(t, e.client, method, e.ngx.URL()+path, h)
}

// hostPort is the host:port of an http:// base URL.
func hostPort(base string) string { return strings.TrimPrefix(base, "http://") }
