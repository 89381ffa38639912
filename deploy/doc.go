// Package deploy holds what operators load next to a service that uses
// lwa: a Grafana dashboard (grafana/lwa.json) and Prometheus alert rules
// (prometheus/lwa-alerts.yml, with their promtool unit tests in
// prometheus/lwa-alerts_test.yml). The runbook of every alert is
// docs/runbook.md; docs/readme/operations.md says how to load them.
//
// It has no Go API. Its tests check the files: promtool check rules and
// promtool test rules (each alert fires and clears on synthetic series),
// every dashboard query parses as PromQL, and every metric and label the
// dashboard and the rules name is one that cmd/lwademo actually exports
// (two replicas on a real redis-server, exercised with the demo's own
// commands, then scraped). The tests need promtool (Debian's prometheus
// package) and redis-server; a missing one fails them, it never skips.
package deploy
