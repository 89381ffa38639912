package otellwa_test

import (
	"context"
	"fmt"
	"log"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
)

// ExampleNew plugs an Observer into a Verifier. The MeterProvider here has
// a manual reader so the example can print what it counted; in a service it
// has a Prometheus or OTLP exporter, and a TracerProvider goes with it
// (otellwa.WithTracerProvider), or both come from the otel globals.
func ExampleNew() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(ctx) }()

	obs, err := otellwa.New(otellwa.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}

	amazon := lwatest.NewServer() // a fake Amazon, for the example
	defer amazon.Close()
	const clientID = "amzn1.application-oa2-client.example"
	v, err := core.NewVerifier(
		core.WithClientID(clientID),
		core.WithEndpoint(amazon.URL),
		core.WithObserver(obs),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = v.Close() }()

	token := amazon.Issue(clientID, core.Profile{Name: "Alice"})
	for range 3 {
		if _, err := v.Verify(ctx, token); err != nil {
			log.Fatal(err)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok && s.IsMonotonic {
				for _, dp := range s.DataPoints {
					if dp.Value != 0 {
						lines = append(lines, fmt.Sprintf("%s{%s} %d", m.Name, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Value))
					}
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// lwa.cache.lookups{lwa.cache.result=hit,lwa.cache.tier=local} 2
	// lwa.cache.lookups{lwa.cache.result=miss,lwa.cache.tier=local} 1
	// lwa.verifications{lwa.outcome=ok} 1
}
