package benchmarks

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-lwa/lwa/core"
)

// maxBytesPerToken is the target memory cost of one cached token.
const maxBytesPerToken = 512

// memWorkers is how many goroutines verify tokens at once in the memory
// measurements: enough to keep lwatest busy, well under the verifier's cap
// on concurrent verifications.
const memWorkers = 8

// verifyAll verifies every token with memWorkers goroutines.
func verifyAll(tb testing.TB, v *core.Verifier, toks []string) {
	tb.Helper()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range memWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(toks) || failed.Load() != nil {
					return
				}
				if _, err := v.Verify(context.Background(), toks[i]); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		tb.Fatalf("Verify: %v", *err)
	}
}

// liveHeap returns the bytes of live heap objects, after two collections
// (the second empties the sync.Pools' victim caches).
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// cacheGrowth verifies n distinct tokens, for real through lwatest, with a
// verifier built with opts, and returns how much the live heap grew.
//
// What is kept out of the measurement: the token strings (issued, and kept
// alive, before the baseline); lwatest's own record of each token (made by
// Issue, before the baseline) and of each call (dropped by ResetCalls before
// the final reading); the upstream keep-alive connections and their buffers,
// on both sides (opened by a warm-up with the same number of workers before
// the baseline). What is left is what the verifier keeps per token.
func cacheGrowth(tb testing.TB, n int, opts ...core.Option) int64 {
	tb.Helper()
	f := newFixture(tb, opts...)
	warm := f.issue(4 * memWorkers)
	toks := f.issue(n)
	verifyAll(tb, f.v, warm)
	f.srv.ResetCalls()

	before := liveHeap()
	verifyAll(tb, f.v, toks)
	f.srv.ResetCalls()
	after := liveHeap()

	runtime.KeepAlive(toks)
	runtime.KeepAlive(f)
	return after - before
}

// TestCachedTokenMemory checks that one cached token costs at most
// maxBytesPerToken bytes of heap. It caches 5 000 tokens so that it stays
// quick under -race; BenchmarkCachedTokenMemory measures 100 000.
func TestCachedTokenMemory(t *testing.T) {
	const n = 5_000
	growth := cacheGrowth(t, n)
	per := float64(growth) / n
	t.Logf("%d cached tokens: heap +%d bytes, %.0f B/token", n, growth, per)
	if per > maxBytesPerToken {
		t.Errorf("%.0f bytes per cached token, want ≤ %d", per, maxBytesPerToken)
	}
}

// TestCacheSizeBoundsMemory checks that WithCacheSize bounds the heap: 10 000
// distinct tokens pass through a verifier limited to 1 000 entries, and the
// heap grows by no more than 1 000 entries' worth, with room for the cache's
// slack.
//
// The bound: size × maxBytesPerToken is what a full cache may hold; it is
// doubled for what otter holds besides the live entries (the hash table's
// spare capacity after evictions, evicted nodes still queued in its buffers,
// the frequency sketch: 1 024 × 8 bytes), plus 256 KiB for everything that
// is not the cache. Without the bound the 10 000 tokens would cost about ten
// times the size's worth (10 000 × ~310 bytes ≈ 3.1 MB against a bound of
// about 1.3 MB), so the test tells a bounded cache from an unbounded one.
func TestCacheSizeBoundsMemory(t *testing.T) {
	const (
		size   = 1_000
		tokens = 10_000
		slack  = 256 << 10
		bound  = 2*size*maxBytesPerToken + slack
	)
	growth := cacheGrowth(t, tokens, core.WithCacheSize(size))
	t.Logf("%d tokens through a cache of %d: heap +%d bytes (bound %d, %.0f B per cache entry)",
		tokens, size, growth, bound, float64(growth)/size)
	if growth > bound {
		t.Errorf("heap grew by %d bytes, want ≤ %d: WithCacheSize(%d) does not bound the cache", growth, bound, size)
	}
}

// BenchmarkCachedTokenMemory reports the heap cost of one cached token
// ("B/token") after caching 100 000 distinct tokens, each verified for real
// through lwatest. Its iterations are not timed work: run it once, with
// -benchtime=1x (see doc.go). The default cache size (100 000) holds all of
// them, so the frequency sketch otter allocates once the cache is half full
// (1 MiB, about 10 B/token) is included.
func BenchmarkCachedTokenMemory(b *testing.B) {
	const n = 100_000
	var per float64
	for range b.N {
		per = float64(cacheGrowth(b, n)) / n
	}
	b.ReportMetric(per, "B/token")
}
