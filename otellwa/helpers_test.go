package otellwa_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/otellwa"
)

// TestMain fails the run if any goroutine outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture is an Observer on SDK providers whose output a test can read.
type fixture struct {
	obs    *otellwa.Observer
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	obs, err := otellwa.New(otellwa.WithMeterProvider(mp), otellwa.WithTracerProvider(tp))
	require.NoError(t, err)
	return &fixture{obs: obs, reader: reader, spans: spans, tp: tp}
}

// collect returns the metrics of the lwa scope, by name.
func (f *fixture) collect(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, f.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, otellwa.ScopeName, sm.Scope.Name)
		require.NotEmpty(t, sm.Scope.Version)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// key renders an attribute set as "k=v,k=v" (sorted by key).
func key(s attribute.Set) string {
	return s.Encoded(attribute.DefaultEncoder())
}

// sumOf checks that m is an int64 sum with the given monotonicity and
// returns its points by attribute set.
func sumOf(t testing.TB, m metricdata.Metrics, monotonic bool) map[string]int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.Truef(t, ok, "%s: %T, want an int64 sum", m.Name, m.Data)
	require.Equal(t, monotonic, s.IsMonotonic, m.Name)
	require.Equal(t, metricdata.CumulativeTemporality, s.Temporality, m.Name)
	out := map[string]int64{}
	for _, dp := range s.DataPoints {
		out[key(dp.Attributes)] = dp.Value
	}
	return out
}

// gaugeOf checks that m is an int64 gauge and returns its points.
func gaugeOf(t testing.TB, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.Truef(t, ok, "%s: %T, want an int64 gauge", m.Name, m.Data)
	out := map[string]int64{}
	for _, dp := range g.DataPoints {
		out[key(dp.Attributes)] = dp.Value
	}
	return out
}

// histPoint is the part of a histogram data point the tests check.
type histPoint struct {
	Count uint64
	Sum   float64
}

// histOf checks that m is a float64 histogram with the seconds buckets and
// returns its points.
func histOf(t testing.TB, m metricdata.Metrics) map[string]histPoint {
	t.Helper()
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.Truef(t, ok, "%s: %T, want a float64 histogram", m.Name, m.Data)
	out := map[string]histPoint{}
	for _, dp := range h.DataPoints {
		require.Equal(t, []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}, dp.Bounds, m.Name)
		out[key(dp.Attributes)] = histPoint{Count: dp.Count, Sum: dp.Sum}
	}
	return out
}

// fakeToken returns a random token shaped like an LWA access token: any 12
// bytes of it found in an output are a leak.
func fakeToken() string {
	b := make([]byte, 300)
	_, _ = rand.Read(b)
	return "Atza|" + base64.RawURLEncoding.EncodeToString(b)
}

// outputStrings returns every string the SDKs would export for the metrics
// collected from f and the spans ended so far: names, descriptions, units,
// scope, attribute keys and values, span names, status messages, events and
// links.
func (f *fixture) outputStrings(t testing.TB) []string {
	t.Helper()
	var out []string
	addSet := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			out = append(out, string(kv.Key), kv.Value.Emit())
		}
	}
	addKVs := func(kvs []attribute.KeyValue) { addSet(attribute.NewSet(kvs...)) }

	var rm metricdata.ResourceMetrics
	require.NoError(t, f.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		out = append(out, sm.Scope.Name, sm.Scope.Version)
		for _, m := range sm.Metrics {
			out = append(out, m.Name, m.Description, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					addSet(dp.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					addSet(dp.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					addSet(dp.Attributes)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	for _, s := range f.spans.Ended() {
		out = append(out, s.Name(), s.Status().Description, s.InstrumentationScope().Name)
		addKVs(s.Attributes())
		for _, e := range s.Events() {
			out = append(out, e.Name)
			addKVs(e.Attributes)
		}
		for _, l := range s.Links() {
			addKVs(l.Attributes)
		}
	}
	return out
}

// requireNoSecret fails if any output string contains 12 consecutive bytes
// of any of secrets (or the whole of a shorter one).
func requireNoSecret(t testing.TB, outputs []string, secrets ...string) {
	t.Helper()
	require.NotEmpty(t, outputs)
	for _, s := range outputs {
		for _, secret := range secrets {
			const window = 12
			if len(secret) <= window {
				require.NotContainsf(t, s, secret, "an output carries a secret")
				continue
			}
			for i := 0; i+window <= len(secret); i++ {
				if strings.Contains(s, secret[i:i+window]) {
					t.Fatalf("output %q carries bytes %d..%d of a secret", s, i, i+window)
				}
			}
		}
	}
}

// spanTree describes ended spans for failure messages.
func spanTree(spans []sdktrace.ReadOnlySpan) string {
	lines := make([]string, 0, len(spans))
	for _, s := range spans {
		lines = append(lines, fmt.Sprintf("%s %s parent=%s kind=%s", s.SpanContext().SpanID(), s.Name(), s.Parent().SpanID(), s.SpanKind()))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
