package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// statusColumns are the statuses counted in their own column.
var statusColumns = []int{200, 502, 503, 504}

// breakerNames are the short names of the breaker's states in the table.
var breakerNames = map[observe.BreakerState]string{
	observe.BreakerClosed:   "closed",
	observe.BreakerOpen:     "open",
	observe.BreakerHalfOpen: "half-open",
}

// breakerCell names the states of one second, in order: "closed",
// "closed/open", "open/half-open".
func breakerCell(states []observe.BreakerState) string {
	names := make([]string, 0, len(states))
	for _, s := range states {
		names = append(names, breakerNames[s])
	}
	return strings.Join(names, "/")
}

// printSeconds prints the run's parameters and its per-second table.
func (r *outageRun) printSeconds(w io.Writer) {
	o := r.o
	stale := "off"
	if o.stale > 0 {
		stale = o.stale.String()
	}
	fmt.Fprintf(w, "lwabench outage: std adapter, %d hot tokens at %.0f req/s over %d clients, %.0f new tokens/s used %d× each, upstream delay %v; "+
		"TTL %v, stale-if-error %s, refresh-ahead %.2f, breaker %d failures / %v cooldown, timeout %v; script: hang at %v for %v, then 500s for %v, recovery at %v, end at %v; speed %g, GOMAXPROCS %d\n\n",
		o.hot, o.hotRate, r.clients, o.newRate, o.newUses, r.script(r.delay),
		o.ttl, stale, o.refresh, o.breakerFailures, o.cooldown, o.timeout,
		o.at, o.hang, o.fail, o.at+o.hang+o.fail, o.total, o.speed, runtime.GOMAXPROCS(0))
	unit := "req/s"
	if o.speed != 1 {
		unit = "req/script s"
	}
	fmt.Fprintf(w, "| s | phase | breaker | %s | hot p50 / p99 ms | new p50 / p99 ms | 200 | of which stale | 502 | 503 | 504 | other | upstream calls | goroutines |\n", unit)
	fmt.Fprintln(w, "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for i, s := range r.seconds() {
		total, other := 0, 0
		for st, n := range s.status {
			total += n
			if !slices.Contains(statusColumns, st) {
				other += n
			}
		}
		fmt.Fprintf(w, "| %d | %s | %s | %d | %s / %s | %s / %s | %d | %d | %d | %d | %d | %d | %d | %d |\n",
			i, r.phaseAt(time.Duration(i)*time.Second), breakerCell(s.breaker), total,
			ms(pct(s.hot, 0.5)), ms(pct(s.hot, 0.99)), ms(pct(s.new, 0.5)), ms(pct(s.new, 0.99)),
			s.status[200], s.stale, s.status[502], s.status[503], s.status[504], other, s.calls, s.goroutines)
	}
	fmt.Fprintln(w)
}
