package main

// The decision endpoint's own cost per cached request, in-process (no
// network): what lwaauthz adds to a proxy's subrequest, beside the
// connection. Run without -race:
//
//	go test -run '^$' -bench BenchmarkDecision -benchmem ./cmd/lwaauthz

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// discardWriter is a ResponseWriter that keeps the status and headers of
// one answer at a time, without allocating.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// benchServer is lwaauthz's handler (without listeners) against srv.
func benchServer(b *testing.B, srv *lwatest.Server, args ...string) http.Handler {
	b.Helper()
	c, err := parseConfig(append([]string{"-client-id", lwatest.ClientID, "-endpoint", srv.URL}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	v, err := core.NewVerifier(verifierOptions(c, nil, nil, log)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = v.Close() })
	return newServer(c, v, nil, http.NotFoundHandler(), log).handler(false)
}

// BenchmarkDecision: one cached decision, as each proxy asks, against a
// bare handler that answers the same headers without verifying anything.
func BenchmarkDecision(b *testing.B) {
	srv := lwatest.NewServer()
	defer srv.Close()
	h := benchServer(b, srv)
	tok := srv.Issue(lwatest.ClientID, ada)

	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Lwa-User-Id"] = []string{ada.UserID}
		w.Header()["X-Lwa-Email"] = []string{ada.Email}
		w.Header()["Cache-Control"] = noStore
		w.WriteHeader(http.StatusOK)
	})
	nginx := httptest.NewRequest(http.MethodGet, pathNginx, nil)
	nginx.Header.Set("Authorization", "Bearer "+tok)
	nginx.Header.Set("X-Original-URI", "/api/orders?page=2")
	nginx.Header.Set("X-Original-Method", http.MethodGet)
	traefik := httptest.NewRequest(http.MethodGet, pathForward, nil)
	traefik.Header.Set("Authorization", "Bearer "+tok)
	traefik.Header.Set("X-Forwarded-Uri", "/api/orders?page=2")
	traefik.Header.Set("X-Forwarded-Method", http.MethodGet)
	envoy := httptest.NewRequest(http.MethodGet, pathForward+"/api/orders?page=2", nil)
	envoy.Header.Set("Authorization", "Bearer "+tok)
	rejected := httptest.NewRequest(http.MethodGet, pathNginx, nil) // no token: nginx protocol rejection

	for _, c := range []struct {
		name string
		h    http.Handler
		r    *http.Request
		want int
	}{
		{"bare", bare, nginx, http.StatusOK},
		{"nginx", h, nginx, http.StatusOK},
		{"traefik", h, traefik, http.StatusOK},
		{"envoy", h, envoy, http.StatusOK},
		{"nginx-rejected", h, rejected, http.StatusUnauthorized},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			c.h.ServeHTTP(w, c.r) // verifies the token once: the loop measures the cached path
			if w.code != c.want {
				b.Fatalf("status %d, want %d", w.code, c.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, c.r)
			}
			if w.code != c.want {
				b.Fatalf("status %d, want %d", w.code, c.want)
			}
		})
	}
	if n := srv.CallCount(lwatest.EndpointTokenInfo); n != 1 {
		b.Fatalf("%d tokeninfo calls, want 1: the loops must be served from the cache", n)
	}
}
