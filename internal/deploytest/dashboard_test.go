package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDashboardShape: every panel has an id of its own, a title, a
// description (the question it answers), queries on the dashboard's
// data source variable, and fits the 24-column grid; the variables are the
// data source, the job and the instance.
func TestDashboardShape(t *testing.T) {
	d := readDashboard(t)
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.Title)
	ids := map[int]bool{}
	var charts int
	for _, p := range d.allPanels() {
		assert.False(t, ids[p.ID], "panel id %d used twice", p.ID)
		ids[p.ID] = true
		assert.NotEmpty(t, p.Title, "panel %d", p.ID)
		assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, p.Title)
		assert.Positive(t, p.GridPos.W, p.Title)
		if p.Type == "row" {
			continue
		}
		charts++
		assert.Contains(t, []string{"stat", "timeseries"}, p.Type, p.Title)
		assert.NotEmpty(t, p.Description, "%s: say what question the panel answers", p.Title)
		require.NotNil(t, p.Datasource, p.Title)
		assert.Equal(t, datasource{Type: "prometheus", UID: "${datasource}"}, *p.Datasource, p.Title)
		require.NotEmpty(t, p.Targets, p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			assert.NotEmpty(t, tg.Expr, p.Title)
			assert.False(t, refs[tg.RefID], "%s: refId %s twice", p.Title, tg.RefID)
			refs[tg.RefID] = true
			require.NotNil(t, tg.Datasource, p.Title)
			assert.Equal(t, "${datasource}", tg.Datasource.UID, p.Title)
		}
	}
	assert.GreaterOrEqual(t, charts, 7)
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name+":"+v.Type)
	}
	assert.Equal(t, []string{"datasource:datasource", "job:query", "instance:query"}, names)
}

// TestDashboardCovers: the dashboard answers the questions of issue 19:
// cache hit ratio, upstream p99 per endpoint, rejections by code, breaker
// state, stale share, revocation lag p99, and the health of Redis.
func TestDashboardCovers(t *testing.T) {
	type want struct {
		what     string
		metric   string
		fragment string // in the same query
	}
	wants := []want{
		{"cache hit ratio", "lwa_cache_lookups_total", `lwa_cache_result="hit"`},
		{"upstream p99 per endpoint", "lwa_upstream_duration_seconds_bucket", "histogram_quantile(0.99, sum by (le, lwa_endpoint)"},
		{"rejections by code", "lwa_requests_total", `sum by (error_type)`},
		{"breaker state", "lwa_breaker_state", "sum by (lwa_breaker_state)"},
		{"stale share", "lwa_stale_served_total", "/ sum(rate(lwa_requests_total"},
		{"revocation lag p99", "lwa_revocation_lag_seconds_bucket", "histogram_quantile(0.99"},
		{"Redis health: state", "lwa_shared_state", "lwa_shared_state"},
		{"Redis health: calls", "lwa_shared_calls_total", "sum by (lwa_shared_outcome)"},
		{"forgeries", "lwa_shared_forgeries_total", "lwa_shared_forgery"},
	}
	queries := readDashboard(t).queries(t)
	for _, w := range wants {
		found := slices.ContainsFunc(queries, func(q string) bool {
			return strings.Contains(q, w.metric) && strings.Contains(q, w.fragment)
		})
		assert.True(t, found, "no panel shows %s (%s with %q)", w.what, w.metric, w.fragment)
	}
}

// grafanaVariables are the dashboard's variables, as promtool sees them.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$job", ".+", "$instance", ".+")

// TestDashboardQueriesParse: every query of the dashboard, its variables
// replaced by values, is valid PromQL to promtool (written as recording
// rules, which promtool check rules parses).
func TestDashboardQueriesParse(t *testing.T) {
	queries := readDashboard(t).queries(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, q := range queries {
		e := grafanaVariables.Replace(q)
		require.NotContains(t, e, "$", "a Grafana variable this test does not know, in %q", q)
		fmt.Fprintf(&b, "      - record: lwa:dashboard_query_%d\n        expr: %q\n", i, e)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	out, err := runPromtool(t, ".", "check", "rules", path)
	require.NoError(t, err, "%s\n%s", out, b.String())
	assert.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(queries)))
}
