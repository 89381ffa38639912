// Package deploytest checks what operators load next to a service that
// uses lwa, under the module's deploy directory: the Grafana dashboard
// (deploy/grafana/lwa.json) and the Prometheus alert rules
// (deploy/prometheus/lwa-alerts.yml, with their promtool unit tests in
// deploy/prometheus/lwa-alerts_test.yml). The runbook of every alert is
// docs/runbook.md; README.md ("Observability and operations") says how to
// load them.
//
// It has no Go API: its tests run promtool check rules and promtool test
// rules (each alert fires and clears on synthetic series, and mutated
// expressions that never or always fire make the unit tests fail), check
// that every dashboard query parses as PromQL, and check that every metric,
// label and label value the dashboard and the rules name is one that
// cmd/lwademo actually exports (two replicas on a real redis-server,
// exercised with the demo's own commands, then scraped). The tests need
// promtool (Debian's prometheus package) and redis-server; a missing one
// fails them, it never skips.
package deploytest
