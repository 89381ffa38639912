package core_test

// Flood control: what a client sending many (junk) tokens can make the
// verifier do upstream and in memory. Helpers here are prefixed fld.

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

const fldClientID = "amzn1.application-oa2-client.flood"

// fldJunk returns a well-formed but unknown token: "Atza|" and 400
// characters of the token alphabet.
func fldJunk() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_|"
	b := make([]byte, 405)
	rand.Read(b[5:])
	copy(b, "Atza|")
	for i := 5; i < len(b); i++ {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func fldVerifier(t *testing.T, srv *lwatest.Server, opts ...core.Option) *core.Verifier {
	t.Helper()
	opts = append([]core.Option{
		core.WithClientID(fldClientID),
		core.WithEndpoint(srv.URL),
		core.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	v, err := core.NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// fldRun calls f(i) for i in [0, n) on w workers.
func fldRun(n, w int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// fldGoroutinesBackTo waits (up to 10 s) for the number of goroutines to
// fall to at most limit, and returns the last count seen.
func fldGoroutinesBackTo(limit int) int {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond) // goroutines of closed connections are exiting
	defer poll.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= limit {
			return n
		}
		select {
		case <-deadline.C:
			return n
		case <-poll.C:
		}
	}
}

// fldHeap is the live heap after a full collection.
func fldHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFloodDistinctJunkTokens: 10 000 distinct junk tokens leave the
// goroutine count and the heap bounded: the negative cache is capped, the
// tokens are not kept, the upstream connections are bounded.
func TestFloodDistinctJunkTokens(t *testing.T) {
	const n, workers = 10_000, 128
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	// Breaker off: under -race on a loaded 2-core machine a call can stay
	// under way for over a second, which the breaker rightly counts as a
	// hang; this test is about memory and goroutines.
	v := fldVerifier(t, srv, core.WithCircuitBreaker(0, 0))

	baseG := runtime.NumGoroutine()
	baseHeap := fldHeap()

	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			peak.Store(max(peak.Load(), int64(runtime.NumGoroutine())))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	var bad atomic.Int64
	start := time.Now()
	fldRun(n, workers, func(i int) {
		if _, err := v.Verify(context.Background(), fldJunk()); !errors.Is(err, core.ErrInvalidToken) {
			if bad.Add(1) == 1 {
				t.Errorf("token %d: %v, want ErrInvalidToken", i, err)
			}
		}
	})
	elapsed := time.Since(start)
	close(stop)
	sampler.Wait()
	if bad.Load() > 0 {
		t.Fatalf("%d of %d verifications did not answer invalid_token", bad.Load(), n)
	}
	if c := srv.CallCount(lwatest.EndpointTokenInfo); c != n {
		t.Errorf("%d tokeninfo calls for %d distinct tokens", c, n)
	}
	srv.ResetCalls() // lwatest's own record of 20 000 calls is not the verifier's memory

	// Goroutines: the workers, their shared verifications and the upstream
	// connections, bounded by the workers and the concurrency cap, never
	// by the number of tokens.
	limit := baseG + 1 + 3*workers + 8*core.DefaultMaxConcurrent + 50
	if p := int(peak.Load()); p > limit {
		t.Errorf("peak of %d goroutines during the flood (baseline %d), want at most %d", p, baseG, limit)
	}
	// After the flood only idle keep-alive connections remain (at most two
	// per concurrent verification, three goroutines each with the server's
	// side): the count is back near the baseline.
	idle := fldGoroutinesBackTo(baseG + 3*2*core.DefaultMaxConcurrent + 10)
	heap := fldHeap()
	growth := int64(heap) - int64(baseHeap)
	t.Logf("%d verifications in %v on %d workers: goroutines baseline %d, peak %d, after %d; heap %d KiB -> %d KiB (%+d KiB, %d B per token)",
		n, elapsed.Round(time.Millisecond), workers, baseG, peak.Load(), idle, baseHeap>>10, heap>>10, growth>>10, growth/n)
	if idle > baseG+3*2*core.DefaultMaxConcurrent+10 {
		t.Errorf("%d goroutines after the flood, baseline %d", idle, baseG)
	}
	// The negative cache holds at most 10 000 rejections, each a hash and
	// a small *Error; the 400-byte tokens themselves are not kept.
	if growth > 8<<20 {
		t.Errorf("heap grew by %d KiB after %d junk tokens", growth>>10, n)
	}

	// Closing the verifier and the upstream brings the count back to the
	// baseline.
	v.Close()
	srv.Close()
	if g := fldGoroutinesBackTo(baseG); g > baseG {
		t.Errorf("%d goroutines after closing, baseline %d", g, baseG)
	}
}

// fldCapCheck verifies distinct tokens at once under an upstream latency and
// returns the largest number of tokeninfo (and profile) calls that were in
// progress together.
func fldCapCheck(t *testing.T, tokens int, delay time.Duration, opts ...core.Option) (int, int) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	v := fldVerifier(t, srv, opts...)
	srv.SetDelay(lwatest.EndpointTokenInfo, delay)
	srv.SetDelay(lwatest.EndpointProfile, delay)
	var wg sync.WaitGroup
	start := make(chan struct{})
	var failed atomic.Int64
	for range tokens {
		tok := srv.Issue(fldClientID, core.Profile{})
		wg.Go(func() {
			<-start
			if _, err := v.Verify(context.Background(), tok); err != nil {
				if failed.Add(1) == 1 {
					t.Errorf("Verify: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	ti, pr := srv.Calls(lwatest.EndpointTokenInfo), srv.Calls(lwatest.EndpointProfile)
	if len(ti) != tokens || len(pr) != tokens {
		t.Fatalf("%d tokeninfo and %d profile calls for %d tokens", len(ti), len(pr), tokens)
	}
	return maxOverlap(ti), maxOverlap(pr)
}

// TestFloodMaxConcurrentVerifications: WithMaxConcurrentVerifications(n)
// caps the upstream calls in progress at once.
func TestFloodMaxConcurrentVerifications(t *testing.T) {
	const limit = 4
	ti, pr := fldCapCheck(t, 40, 50*time.Millisecond, core.WithMaxConcurrentVerifications(limit))
	t.Logf("cap %d: at most %d tokeninfo and %d profile calls at once", limit, ti, pr)
	if ti > limit || pr > limit {
		t.Fatalf("%d tokeninfo and %d profile calls at once, cap %d", ti, pr, limit)
	}
	if ti < limit {
		t.Errorf("only %d tokeninfo calls at once with 40 waiting and a cap of %d: is the measure right?", ti, limit)
	}
}

// TestFloodDefaultMaxConcurrent: the default cap holds too.
func TestFloodDefaultMaxConcurrent(t *testing.T) {
	limit := core.DefaultMaxConcurrent
	ti, pr := fldCapCheck(t, 3*limit, 300*time.Millisecond)
	t.Logf("default cap %d: at most %d tokeninfo and %d profile calls at once", limit, ti, pr)
	if ti > limit || pr > limit {
		t.Fatalf("%d tokeninfo and %d profile calls at once, default cap %d", ti, pr, limit)
	}
	if ti < limit/2 {
		t.Errorf("only %d tokeninfo calls at once with %d waiting: is the measure right?", ti, 3*limit)
	}
}

// TestFloodReplayedInvalidToken: one invalid token replayed 1000 times,
// concurrently then sequentially, costs exactly one tokeninfo call.
func TestFloodReplayedInvalidToken(t *testing.T) {
	for _, mode := range []string{"concurrent", "sequential"} {
		t.Run(mode, func(t *testing.T) {
			srv := lwatest.NewServer()
			t.Cleanup(srv.Close)
			v := fldVerifier(t, srv)
			tok := fldJunk()
			check := func(err error) {
				if !errors.Is(err, core.ErrInvalidToken) {
					t.Errorf("Verify: %v, want ErrInvalidToken", err)
				}
			}
			if mode == "concurrent" {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range 1000 {
					wg.Go(func() {
						<-start
						_, err := v.Verify(context.Background(), tok)
						check(err)
					})
				}
				close(start)
				wg.Wait()
			} else {
				for range 1000 {
					_, err := v.Verify(context.Background(), tok)
					check(err)
				}
			}
			if c := srv.CallCount(lwatest.EndpointTokenInfo); c != 1 {
				t.Fatalf("%d tokeninfo calls for one invalid token replayed 1000 times, want 1", c)
			}
		})
	}
}

// TestFloodReplayRace: the caches and the coalescing of concurrent first
// uses together must leave no window for a second upstream call: many rounds
// of one fresh token (invalid, then valid) used at once by 64 goroutines
// cost one tokeninfo call each. A verification that misses the cache just
// before the shared verification stores its outcome, and joins the
// coalescing group just after that verification has left it, asks Amazon a
// second time.
func TestFloodReplayRace(t *testing.T) {
	const rounds, callers = 200, 64
	for _, valid := range []bool{false, true} {
		name := map[bool]string{false: "invalid", true: "valid"}[valid]
		t.Run(name, func(t *testing.T) {
			srv := lwatest.NewServer()
			t.Cleanup(srv.Close)
			v := fldVerifier(t, srv)
			extra := 0
			for r := range rounds {
				tok := fldJunk()
				if valid {
					tok = srv.Issue(fldClientID, core.Profile{})
				}
				before := srv.CallCount(lwatest.EndpointTokenInfo)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range callers {
					wg.Go(func() {
						<-start
						_, err := v.Verify(context.Background(), tok)
						if (err == nil) != valid || (!valid && !errors.Is(err, core.ErrInvalidToken)) {
							t.Errorf("round %d: %v", r, err)
						}
					})
				}
				close(start)
				wg.Wait()
				extra += srv.CallCount(lwatest.EndpointTokenInfo) - before - 1
			}
			if extra > 0 {
				t.Fatalf("%d extra tokeninfo calls over %d rounds of %d concurrent uses of one %s token", extra, rounds, callers, name)
			}
		})
	}
}

// TestFloodUpstream5xxNotCached: three verifications during an upstream 500
// make three upstream calls, and the token passes once Amazon recovers.
func TestFloodUpstream5xxNotCached(t *testing.T) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	v := fldVerifier(t, srv)
	tok := srv.Issue(fldClientID, core.Profile{UserID: "amzn1.account.FLOOD5XX"})
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
	for i := range 3 {
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, core.ErrUpstream) {
			t.Fatalf("call %d: %v, want ErrUpstream", i, err)
		}
	}
	if c := srv.CallCount(lwatest.EndpointTokenInfo); c != 3 {
		t.Fatalf("%d tokeninfo calls for 3 verifications during a 500, want 3", c)
	}
	srv.Recover()
	if p, err := v.Verify(context.Background(), tok); err != nil || p.UserID != "amzn1.account.FLOOD5XX" {
		t.Fatalf("after recovery: %+v, %v", p, err)
	}
	if c := srv.CallCount(lwatest.EndpointTokenInfo); c != 4 {
		t.Fatalf("%d tokeninfo calls, want 4", c)
	}
}
