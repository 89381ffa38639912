// Package promexport serves a verifier's OpenTelemetry metrics (package
// otellwa) in Prometheus's text format, for this module's commands (the
// demo, lwaauthz): an otellwa Observer on a MeterProvider whose reader is
// the Prometheus exporter, on a registry of its own (several servers may
// run in one process, as tests do). Apps wire the same three pieces
// themselves; otellwa's ExampleNew_prometheus shows how.
package promexport

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-lwa/lwa/otellwa"
)

// Metrics is an otellwa Observer and the handler of GET /metrics.
type Metrics struct {
	Obs     *otellwa.Observer
	Handler http.Handler
	mp      *sdkmetric.MeterProvider
}

// New sets the pieces up; collectors (the Go runtime's, say) join the
// registry.
func New(collectors ...prometheus.Collector) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors...)
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// lwa.requests → lwa_requests_total, lwa.upstream.duration (s) →
		// lwa_upstream_duration_seconds, lwa.cache.result → lwa_cache_result.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
	)
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	obs, err := otellwa.New(otellwa.WithMeterProvider(mp))
	if err != nil {
		_ = mp.Shutdown(context.Background())
		return nil, err
	}
	return &Metrics{Obs: obs, mp: mp, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

// Close closes the Observer (a last collection) and the MeterProvider.
func (m *Metrics) Close() {
	_ = m.Obs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.mp.Shutdown(ctx)
}
