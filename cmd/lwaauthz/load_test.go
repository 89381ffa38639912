package main

// A load generator, as a benchmark: requests per second and latency
// percentiles through a real nginx running deploy/nginx, with and without
// the auth subrequest, and of lwaauthz's decision endpoint alone, in one
// run, all on loopback. Run without -race:
//
//	go test -run '^$' -bench BenchmarkEdge -benchtime 20000x ./cmd/lwaauthz
//
// Each sub-benchmark keeps loadConns requests in flight (keep-alive
// connections) and reports req/s and p50/p99 in µs. Everything (client,
// nginx with one worker, lwaauthz, the sample upstream, the fake LWA
// server) shares the machine's cores, so the figures compare the paths
// with each other rather than measure a production deployment.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-lwa/lwa/lwatest"
)

// loadConns is how many requests the load generator keeps in flight.
const loadConns = 32

// BenchmarkEdge measures, in one run: the sample upstream alone; nginx
// proxying to it on a public location; nginx with auth_request to
// lwaauthz (a cached token) on a protected one; and lwaauthz's decision
// endpoint asked directly over HTTP.
func BenchmarkEdge(b *testing.B) {
	srv := lwatest.NewServer()
	defer srv.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer upstream.Close()
	az := startAuthz(b, srv, nil)
	e := startEdge(b, &app{Server: upstream}, []string{hostPort(az.base)}, nil)
	tok := srv.Issue(lwatest.ClientID, ada)
	auth := bearer(tok)
	decision := bearer(tok)
	decision.Set("X-Original-URI", "/api/orders")
	decision.Set("X-Original-Method", http.MethodGet)

	for _, c := range []struct {
		name string
		url  string
		h    http.Header
	}{
		{"upstream-direct", upstream.URL + "/api/orders", nil},
		{"nginx-no-auth", e.ngx.URL() + "/about", nil},
		{"nginx-auth-request", e.ngx.URL() + "/api/orders", auth},
		{"lwaauthz-decision", az.base + pathNginx, decision},
	} {
		b.Run(c.name, func(b *testing.B) { loadBench(b, c.url, c.h) })
	}
	if n := srv.CallCount(lwatest.EndpointTokenInfo); n != 1 {
		b.Fatalf("%d tokeninfo calls, want 1: every decision but the first is served from the cache", n)
	}
}

// loadBench sends b.N GET requests to url with headers h from loadConns
// goroutines, fails on any answer but 200, and reports req/s, p50 and
// p99.
func loadBench(b *testing.B, url string, h http.Header) {
	tr := &http.Transport{MaxIdleConnsPerHost: loadConns, MaxConnsPerHost: loadConns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	one := func() (time.Duration, int, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header = h.Clone()
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode, nil
	}
	for range loadConns { // open the connections, warm the paths
		if _, code, err := one(); err != nil || code != http.StatusOK {
			b.Fatalf("warm-up: %d %v", code, err)
		}
	}

	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	var next sync.Mutex
	left := b.N
	take := func() bool {
		next.Lock()
		defer next.Unlock()
		left--
		return left >= 0
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range loadConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for take() {
				d, code, err := one()
				if err == nil && code != http.StatusOK {
					err = errStatus(code)
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Microsecond) }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

type errStatus int

func (e errStatus) Error() string { return "status " + http.StatusText(int(e)) }
