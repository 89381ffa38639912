// Package benchmarks measures what Login with Amazon verification costs, in
// the adapters and in the core, against a bare route or Amazon's own sample
// code in the same run. It has no API: everything is in its _test.go files.
// Run the commands below from the module root. The numbers are only worth
// comparing within one run, on an otherwise idle machine. The target for
// each measurement is given after it.
//
// # Cached path, per adapter (adapters_test.go)
//
// BenchmarkGin, BenchmarkEcho, BenchmarkEchoV5, BenchmarkFiber,
// BenchmarkFiberV3 and BenchmarkStd each have two sub-benchmarks, bare and protected: the same route and trivial
// handler, without and behind the adapter's New(v), with a token (a
// ~400-byte lwatest token) verified beforehand, so that every protected
// request is a cache hit. Requests go in-process through the framework's
// entry point (ServeHTTP, or Fiber's app.Handler()) with a reused request and
// a reused, discarding response writer. Run them with core's reference
// benchmarks (SHA-256 of the token; a cached Verify; a cached Authenticate),
// in one command so that the ratios come from one run:
//
//	go test -run '^$' -bench 'SHA256Token|VerifyCached|AuthenticateCached|Gin|Echo|Fiber|Std' -count 10 ./core/ ./internal/benchmarks/
//
// Targets: VerifyCached ≤ 1.25 × SHA256Token with 0 allocs; on every
// adapter, protected − bare ≤ 2.5 × SHA256Token, and at most 3 more
// allocs/op (Fiber v2 and v3: 1; Echo v5: 2); gin and echo (v4) are held
// to 4 and 5, the floor their own stores and Echo v4's per-request
// middleware wrapping impose (see maxExtraAllocs). The allocation bound is also a test, which runs with
// every go test:
//
//	go test -run TestAdaptersOverheadAllocs -v ./internal/benchmarks/
//
// To see where the time or the allocations go (the test binary,
// benchmarks.test, is left in the current directory):
//
//	go test -run '^$' -bench 'Gin/protected' -benchtime 3s -cpuprofile cpu.out ./internal/benchmarks/
//	go tool pprof -top -cum benchmarks.test cpu.out
//	go test -run '^$' -bench 'Gin/protected' -benchtime 100000x -memprofile mem.out -memprofilerate 1 ./internal/benchmarks/
//	go tool pprof -sample_index=alloc_objects -top benchmarks.test mem.out
//
// # Cold path (cold_test.go)
//
// BenchmarkColdVerify verifies a never-seen token per iteration against
// lwatest answering each endpoint after 20 ms; BenchmarkSampleCodeBaseline
// does what Amazon's sample code does (tokeninfo, the aud check, then the
// profile, one after the other, no cache), with the same HTTP client
// settings. Both report x-delay, the time per verification divided by one
// upstream delay. Each iteration takes 20–40 ms, so give them a count:
//
//	go test -run '^$' -bench 'ColdVerify|SampleCodeBaseline' -benchtime 100x ./internal/benchmarks/
//
// Targets: ColdVerify ≤ 1.15 x-delay; SampleCodeBaseline ≥ 2 x-delay.
//
// # Bursts (burst_test.go)
//
// Tests, not benchmarks: 1000 concurrent first uses of one token cost
// exactly one tokeninfo and one profile call; 50 distinct tokens used 20
// times each, all at once, cost exactly 50 + 50.
//
//	go test -race -run Burst -v ./internal/benchmarks/
//
// # Memory per cached token (memory_test.go)
//
// TestCachedTokenMemory caches 5 000 tokens, verified for real through
// lwatest, and checks the live heap grew by ≤ 512 bytes per token;
// TestCacheSizeBoundsMemory passes 10 000 tokens through WithCacheSize(1000)
// and checks the heap stays bounded. BenchmarkCachedTokenMemory caches
// 100 000 tokens and reports B/token; its iteration is a fixed amount of
// work (about 15 s, 100 000 × 2 loopback round trips), so run it once:
//
//	go test -run 'Memory' -v ./internal/benchmarks/
//	go test -run '^$' -bench CachedTokenMemory -benchtime 1x ./internal/benchmarks/
//
// Target: ≤ 512 B/token.
//
// # Load over loopback HTTP (cmd/lwabench)
//
// Real servers for every adapter, real HTTP clients, an in-process lwatest
// upstream with a 20 ms delay; prints a markdown table with requests/s bare
// and protected, latency percentiles and upstream calls per token:
//
//	go run ./cmd/lwabench
//	go run ./cmd/lwabench -adapters gin,std -c 64 -tokens 1000 -delay 50ms -d 10s
//
// Target: protected ≥ 90 % of bare.
//
// # Everything at once
//
//	go test -run '^$' -bench . -benchtime 1s ./core/ ./internal/benchmarks/
//
// (-bench . includes BenchmarkCachedTokenMemory, which runs its 15 s
// iteration once, and the cold benchmarks, which take a few seconds each.)
package benchmarks
