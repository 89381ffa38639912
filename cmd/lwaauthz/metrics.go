package main

// Metrics: the verifier's OpenTelemetry metrics (package otellwa), read by
// the Prometheus exporter and served on GET /metrics: lwa_requests_total
// (every decision, by outcome and error code), lwa_cache_lookups_total (by
// tier and result), lwa_verifications_total, lwa_upstream_duration_seconds
// and the others package otellwa documents: the same names as any server
// using lwa, so the same dashboards and alerts apply.

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-lwa/lwa/otellwa"
)

// metrics is the verifier's Observer and the /metrics handler.
type metrics struct {
	obs     *otellwa.Observer
	mp      *sdkmetric.MeterProvider
	handler http.Handler
}

// newMetrics sets up an otellwa Observer on a MeterProvider read by the
// Prometheus exporter, on a registry of this server's own (several servers
// run in one test process), with the Go runtime and process collectors.
func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
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
	return &metrics{obs: obs, mp: mp, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}, nil
}

func (m *metrics) close() {
	_ = m.obs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.mp.Shutdown(ctx)
}
