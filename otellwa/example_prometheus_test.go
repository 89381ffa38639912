package otellwa_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
)

// ExampleNew_prometheus serves the Verifier's metrics at /metrics in
// Prometheus format, under the names the dashboard and the alert rules of
// the module's deploy directory use. Shutting the MeterProvider down last
// (the first defer) is all the closing it needs.
func ExampleNew_prometheus() {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// lwa.requests → lwa_requests_total, lwa.upstream.duration (s) →
		// lwa_upstream_duration_seconds: the names deploy/'s dashboard and alerts use.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
	)
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	obs, err := otellwa.New(otellwa.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// A Verifier observed by obs, against a fake Amazon for the example.
	amazon := lwatest.NewServer()
	defer amazon.Close()
	const clientID = "amzn1.application-oa2-client.example"
	v, err := core.NewVerifier(core.WithObserver(obs), core.WithClientID(clientID), core.WithEndpoint(amazon.URL))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = v.Close() }()
	token := amazon.Issue(clientID, core.Profile{Name: "Alice"})
	for range 2 {
		if _, err := v.Verify(context.Background(), token); err != nil {
			log.Fatal(err)
		}
	}

	// What Prometheus scrapes (a few series, without the otel_scope_* labels).
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	scope := regexp.MustCompile(`,?otel_scope_[a-z_]+="[^"]*"`)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, p := range []string{"lwa_breaker_state{", `lwa_cache_lookups_total{lwa_cache_result="hit",lwa_cache_tier="local"`, "lwa_verifications_total{"} {
			if strings.HasPrefix(line, p) {
				fmt.Println(strings.Replace(scope.ReplaceAllString(line, ""), "{,", "{", 1))
			}
		}
	}
	// Output:
	// lwa_breaker_state{lwa_breaker_state="closed"} 1
	// lwa_breaker_state{lwa_breaker_state="half_open"} 0
	// lwa_breaker_state{lwa_breaker_state="open"} 0
	// lwa_cache_lookups_total{lwa_cache_result="hit",lwa_cache_tier="local"} 1
	// lwa_verifications_total{lwa_outcome="ok"} 1
}
