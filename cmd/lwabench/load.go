package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one scenario's timed phase measured.
type result struct {
	requests int             // answered 200 "ok"
	errors   int             // transport errors and other answers
	elapsed  time.Duration   // wall time of the timed phase (all rounds)
	latency  []time.Duration // of every timed request, sorted
}

func (r result) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// percentiles formats p50 / p90 / p99 of the latencies.
func (r result) percentiles() string {
	if len(r.latency) == 0 {
		return "-"
	}
	q := func(p float64) string {
		d := r.latency[int(p*float64(len(r.latency)-1))]
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	return q(0.50) + " / " + q(0.90) + " / " + q(0.99)
}

// newLoadClient returns a keep-alive client for conns concurrent clients,
// each keeping its connection open between requests.
func newLoadClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
	}
}

// warmUp sends every token once to url, untimed: it opens the client
// connections and, on the protected route, verifies every token.
func warmUp(ctx context.Context, client *http.Client, url string, toks []string, conns int) result {
	return load(ctx, client, url, toks, conns, len(toks), time.Time{})
}

// timed loads url for one round of the timed phase: c.conns clients cycling
// through toks for c.duration/c.rounds, or c.requests/c.rounds requests.
func timed(ctx context.Context, client *http.Client, url string, toks []string, c *config) result {
	if c.requests > 0 {
		return load(ctx, client, url, toks, c.conns, max(1, c.requests/c.rounds), time.Time{})
	}
	return load(ctx, client, url, toks, c.conns, 0, time.Now().Add(c.duration/time.Duration(c.rounds)))
}

// add merges the measurements of another round into r.
func (r *result) add(o result) {
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.latency = append(r.latency, o.latency...)
	slices.Sort(r.latency)
}

// load sends requests to url from conns goroutines, the i-th request with
// toks[i % len(toks)], until n requests were sent (n > 0) or the deadline
// passes, or ctx ends.
func load(ctx context.Context, client *http.Client, url string, toks []string, conns, n int, deadline time.Time) result {
	return spread(ctx, client, []string{url}, toks, conns, n, deadline)
}

// spread is load over several servers: the i-th request goes to
// urls[i % len(urls)] with toks[(i / len(urls)) % len(toks)], so that
// consecutive requests carry one token to every server in turn, at the same
// time (the concurrent first uses of a token on a fleet of replicas).
func spread(ctx context.Context, client *http.Client, urls, toks []string, conns, n int, deadline time.Time) result {
	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		all    []time.Duration
		wg     sync.WaitGroup
		header = make([]string, len(toks))
	)
	for i, t := range toks {
		header[i] = "Bearer " + t
	}
	start := time.Now()
	for range conns {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if (n > 0 && i >= n) || (!deadline.IsZero() && !time.Now().Before(deadline)) {
					break
				}
				t0 := time.Now()
				if get(ctx, client, urls[i%len(urls)], header[(i/len(urls))%len(header)]) {
					lat = append(lat, time.Since(t0))
				} else {
					errs.Add(1)
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	return result{requests: len(all), errors: int(errs.Load()), elapsed: elapsed, latency: all}
}

// get sends one request and reports whether it was answered 200 "ok". It
// reads the body to the end so that the connection is reused.
func get(ctx context.Context, client *http.Client, url, authorization string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header["Authorization"] = []string{authorization}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return err == nil && resp.StatusCode == http.StatusOK && string(body) == okBody
}
