package otellwa_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
)

// memExporter is a push exporter that keeps, for every export, the value
// of every point: sums and gauges by value, histograms by count.
type memExporter struct {
	mu      sync.Mutex
	exports []map[string]map[string]int64 // metric → attributes → value
}

func (e *memExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (e *memExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *memExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	snap := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			points := map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					points[key(dp.Attributes)] = dp.Value
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					points[key(dp.Attributes)] = dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					points[key(dp.Attributes)] = int64(dp.Count)
				}
			}
			snap[m.Name] = points
		}
	}
	e.mu.Lock()
	e.exports = append(e.exports, snap)
	e.mu.Unlock()
	return nil
}

func (e *memExporter) ForceFlush(context.Context) error { return nil }
func (e *memExporter) Shutdown(context.Context) error   { return nil }

// last returns, for each metric, its points in the last export that had
// it: what a backend holds once the program has exited.
func (e *memExporter) last() map[string]map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]map[string]int64{}
	for _, snap := range e.exports {
		for name, points := range snap {
			if len(points) > 0 {
				out[name] = points
			}
		}
	}
	return out
}

// pushed is an Observer on a MeterProvider with a periodic reader that
// exports only when flushed or shut down (its interval is an hour), and a
// Verifier on lwatest that has verified a token and answered three
// requests, two of them from its cache.
type pushed struct {
	exp *memExporter
	mp  *sdkmetric.MeterProvider
	obs *otellwa.Observer
	v   *core.Verifier
}

func newPushed(t *testing.T) *pushed {
	t.Helper()
	exp := &memExporter{}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs, err := otellwa.New(otellwa.WithMeterProvider(mp))
	require.NoError(t, err)
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithObserver(obs))
	req := &core.Request{Method: "GET", Authorization: []string{"Bearer " + srv.Token(alice)}}
	for range 3 {
		_, _, err := v.Authenticate(ctx, req, core.Policy{})
		require.NoError(t, err)
	}
	return &pushed{exp: exp, mp: mp, obs: obs, v: v}
}

// requireFinal checks that the exports hold the run's final values: the
// counters read at collection time (requests, lookups, breaker
// transitions), the Verifier's state (cache entries, breaker state) and
// the synchronous instruments.
func (p *pushed) requireFinal(t *testing.T) {
	t.Helper()
	got := p.exp.last()
	assert.Equal(t, int64(3), got["lwa.requests"]["lwa.outcome=authenticated"])
	assert.Equal(t, int64(2), got["lwa.cache.lookups"]["lwa.cache.result=hit,lwa.cache.tier=local"])
	assert.Equal(t, int64(1), got["lwa.cache.lookups"]["lwa.cache.result=miss,lwa.cache.tier=local"])
	assert.Equal(t, int64(1), got["lwa.cache.entries"]["lwa.cache.kind=verified,lwa.cache.tier=local"], "the Verifier's last state")
	assert.Equal(t, int64(1), got["lwa.breaker.state"]["lwa.breaker.state=closed"], "the Verifier's last state")
	assert.Contains(t, got["lwa.breaker.transitions"], "lwa.breaker.state=open")
	assert.Equal(t, int64(1), got["lwa.verifications"]["lwa.outcome=ok"])
}

// TestCloseOrders: the natural defers (MeterProvider shut down last, then
// the Observer closed, then the Verifier closed first, or the other way
// round, or the Observer never closed) all export the final values.
func TestCloseOrders(t *testing.T) {
	t.Run("verifier, observer, provider", func(t *testing.T) {
		p := newPushed(t)
		require.NoError(t, p.v.Close())
		require.NoError(t, p.obs.Close())
		require.NoError(t, p.mp.Shutdown(ctx))
		p.requireFinal(t)
	})
	t.Run("observer, verifier, provider", func(t *testing.T) {
		p := newPushed(t)
		require.NoError(t, p.obs.Close())
		require.NoError(t, p.v.Close())
		require.NoError(t, p.mp.Shutdown(ctx))
		p.requireFinal(t)
	})
	t.Run("verifier, provider", func(t *testing.T) {
		p := newPushed(t)
		require.NoError(t, p.v.Close())
		require.NoError(t, p.mp.Shutdown(ctx))
		p.requireFinal(t)
	})
	t.Run("provider first", func(t *testing.T) {
		p := newPushed(t)
		require.NoError(t, p.mp.Shutdown(ctx))
		p.requireFinal(t)
		require.NoError(t, p.obs.Close(), "nothing to flush: not an error")
		require.NoError(t, p.v.Close())
		p.requireFinal(t)
	})
}

// TestCloseLetsGo: after Close, a collection no longer runs the Observer:
// the MeterProvider does not hold it, and the Verifiers it served report
// nothing more.
func TestCloseLetsGo(t *testing.T) {
	p := newPushed(t)
	require.NoError(t, p.obs.Close())
	n := len(p.exp.exports)
	require.NoError(t, p.mp.ForceFlush(ctx))
	require.Len(t, p.exp.exports, n+1)
	after := p.exp.exports[n]
	for _, name := range []string{"lwa.requests", "lwa.cache.lookups", "lwa.cache.entries", "lwa.breaker.state", "lwa.breaker.transitions"} {
		assert.Empty(t, after[name], name)
	}
	assert.NotEmpty(t, after["lwa.verifications"], "the synchronous instruments are the provider's")
}

// TestCloseManualReader: with a reader that collects only when asked, a
// Verifier closed before the collection is in it once, with its last
// state.
func TestCloseManualReader(t *testing.T) {
	f := newFixture(t)
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithObserver(f.obs))
	_, err := v.Verify(ctx, srv.Token(alice))
	require.NoError(t, err)
	require.NoError(t, v.Close())
	m := f.collect(t)
	assert.Equal(t, int64(1), gaugeOf(t, m["lwa.cache.entries"])["lwa.cache.kind=verified,lwa.cache.tier=local"])
	assert.Equal(t, int64(1), gaugeOf(t, m["lwa.breaker.state"])["lwa.breaker.state=closed"])
	m = f.collect(t)
	for _, name := range []string{"lwa.cache.entries", "lwa.breaker.state"} {
		if got, ok := m[name]; ok {
			assert.Empty(t, gaugeOf(t, got), name)
		}
	}
}

// failingExporter fails every export.
type failingExporter struct{ memExporter }

func (e *failingExporter) Export(context.Context, *metricdata.ResourceMetrics) error {
	return errExport
}

var errExport = errors.New("the collector is unreachable")

// TestCloseReportsFlushError: an export that fails during Close's final
// collection is Close's error (the values may not have left the process).
func TestCloseReportsFlushError(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(&failingExporter{}, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs, err := otellwa.New(otellwa.WithMeterProvider(mp))
	require.NoError(t, err)
	require.ErrorIs(t, obs.Close(), errExport)
	require.ErrorIs(t, obs.Close(), errExport, "the same error again")
}

// TestCloseGlobalProvider: with the global MeterProvider, set to an SDK
// provider before New, Close flushes it too.
func TestCloseGlobalProvider(t *testing.T) {
	exp := &memExporter{}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	otel.SetMeterProvider(mp)
	t.Cleanup(func() { otel.SetMeterProvider(noop.NewMeterProvider()) })
	obs, err := otellwa.New()
	require.NoError(t, err)
	obs.CacheLookup(ctx, observe.CacheEvent{Tier: observe.TierLocal, Result: observe.LookupHit})
	require.NoError(t, obs.Close())
	assert.Equal(t, int64(1), exp.last()["lwa.cache.lookups"]["lwa.cache.result=hit,lwa.cache.tier=local"])
}
