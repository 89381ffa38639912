package main

// Metrics: the verifier's OpenTelemetry metrics (package otellwa), read by
// the Prometheus exporter and served on GET /metrics: lwa_requests_total
// (every decision, by outcome and error code), lwa_cache_lookups_total (by
// tier and result), lwa_verifications_total, lwa_upstream_duration_seconds
// and the others package otellwa documents: the same names as any server
// using lwa, so the same dashboards and alerts apply.

import (
	"github.com/go-lwa/lwa/internal/promexport"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newMetrics sets up an otellwa Observer on a MeterProvider read by the
// Prometheus exporter, on a registry of this server's own (several servers
// run in one test process), with the Go runtime and process collectors.
func newMetrics() (*promexport.Metrics, error) {
	return promexport.New(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
