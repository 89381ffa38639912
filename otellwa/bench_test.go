package otellwa_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
)

// sink keeps the compiler from dropping the benchmarked work.
var sink [sha256.Size]byte

// BenchmarkObserverHotPath is what the Observer adds to a cached request:
// one Request and one CacheLookup, on a real SDK MeterProvider. It must
// report 0 allocs/op. Compare with BenchmarkSHA256Token, the hash core
// already computes on every request to find the token in its cache.
func BenchmarkObserverHotPath(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	o, err := otellwa.New(otellwa.WithMeterProvider(mp))
	require.NoError(b, err)
	var obs core.Observer = o // as core calls it: through the interface
	ctx := context.Background()
	req := observe.RequestEvent{Outcome: observe.OutcomeAuthenticated}
	hit := observe.CacheEvent{Tier: observe.TierLocal, Result: observe.LookupHit}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.CacheLookup(ctx, hit)
			obs.Request(ctx, req)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				obs.CacheLookup(ctx, hit)
				obs.Request(ctx, req)
			}
		})
	})
	b.Run("rejected", func(b *testing.B) {
		rej := observe.RequestEvent{Outcome: observe.OutcomeRejected, Code: core.CodeInvalidToken}
		b.ReportAllocs()
		for b.Loop() {
			obs.CacheLookup(ctx, observe.CacheEvent{Tier: observe.TierLocal, Result: observe.LookupRejectedHit})
			obs.Request(ctx, rej)
		}
	})
}

// BenchmarkSyncCounter is what the hot path would cost with two synchronous
// SDK counters, even with precomputed attribute sets: the reason Request
// and CacheLookup count in atomics instead.
func BenchmarkSyncCounter(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m := mp.Meter("bench")
	requests, err := m.Int64Counter("requests")
	require.NoError(b, err)
	lookups, err := m.Int64Counter("lookups")
	require.NoError(b, err)
	reqSet := metric.WithAttributeSet(attribute.NewSet(attribute.String("lwa.outcome", "authenticated")))
	hitSet := metric.WithAttributeSet(attribute.NewSet(attribute.String("lwa.cache.tier", "local"), attribute.String("lwa.cache.result", "hit")))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		lookups.Add(ctx, 1, hitSet)
		requests.Add(ctx, 1, reqSet)
	}
}

// BenchmarkSHA256Token hashes a 400-byte token, as core does on every
// request (its cache key).
func BenchmarkSHA256Token(b *testing.B) {
	tok := []byte(fakeToken()[:400])
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		sink = sha256.Sum256(tok)
	}
}

// BenchmarkObserverOpsHooks is what the operators' hooks cost on a real SDK
// MeterProvider: each must report 0 allocs/op. They run off the cached
// path, but a stale answer or a shared-cache call can come once per request
// during an incident.
func BenchmarkObserverOpsHooks(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	o, err := otellwa.New(otellwa.WithMeterProvider(mp))
	require.NoError(b, err)
	var obs core.Observer = o
	ctx := context.Background()
	for _, h := range []struct {
		name string
		call func()
	}{
		{"BreakerChange", func() {
			obs.BreakerChange(ctx, observe.BreakerEvent{From: observe.BreakerOpen, To: observe.BreakerHalfOpen})
		}},
		{"StaleServed", func() { obs.StaleServed(ctx, observe.StaleEvent{Staleness: 42 * time.Second}) }},
		{"RevocationReceived", func() {
			obs.Revocation(ctx, observe.RevocationEvent{Kind: observe.RevokeToken, Received: true, Lag: 2 * time.Millisecond})
		}},
		{"SharedCall", func() {
			obs.SharedCall(ctx, observe.SharedCallEvent{Op: observe.SharedGet, Outcome: observe.SharedOK, Duration: 300 * time.Microsecond})
		}},
		{"SharedForgery", func() { obs.SharedForgery(ctx, observe.ForgedValue) }},
	} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.call()
			}
		})
	}
}

// BenchmarkCachedVerifyInterleaved measures a cached Verify without an
// Observer, with otellwa on a real SDK MeterProvider, and one SHA-256 of the
// token (the floor of a check that keeps no raw token), in alternating
// chunks of 1000 in one loop, so that a change in the machine's load hits
// all three alike. It reports each one's ns/op and the ratios:
//
//	go test -run '^$' -bench CachedVerifyInterleaved -count 6 ./otellwa/
func BenchmarkCachedVerifyInterleaved(b *testing.B) {
	srv := lwatest.NewServer()
	b.Cleanup(srv.Close)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	o, err := otellwa.New(otellwa.WithMeterProvider(mp))
	require.NoError(b, err)
	const clientID = "amzn1.application-oa2-client.bench"
	newVerifier := func(opts ...core.Option) *core.Verifier {
		v, err := core.NewVerifier(append([]core.Option{core.WithClientID(clientID), core.WithEndpoint(srv.URL)}, opts...)...)
		require.NoError(b, err)
		b.Cleanup(func() { _ = v.Close() })
		return v
	}
	plain, observed := newVerifier(), newVerifier(core.WithObserver(o))
	tok := srv.Issue(clientID, core.Profile{Name: "Alice"})
	ctx := context.Background()
	for _, v := range []*core.Verifier{plain, observed} {
		_, err := v.Verify(ctx, tok)
		require.NoError(b, err)
	}
	data := []byte(tok)
	const chunk = 1000
	var tPlain, tObserved, tSHA time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		start := time.Now()
		for range n {
			_, _ = plain.Verify(ctx, tok)
		}
		mid := time.Now()
		for range n {
			_, _ = observed.Verify(ctx, tok)
		}
		end := time.Now()
		for range n {
			sink = sha256.Sum256(data)
		}
		tPlain += mid.Sub(start)
		tObserved += end.Sub(mid)
		tSHA += time.Since(end)
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d) / float64(b.N) }
	b.ReportMetric(per(tPlain), "plain-ns/op")
	b.ReportMetric(per(tObserved), "observed-ns/op")
	b.ReportMetric(per(tSHA), "sha256-ns/op")
	b.ReportMetric(float64(tPlain)/float64(tSHA), "plain/sha256")
	b.ReportMetric(float64(tObserved)/float64(tSHA), "observed/sha256")
}
