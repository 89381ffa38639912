package deploytest

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The files under test, from this directory.
const (
	rulesFile     = "../../deploy/prometheus/lwa-alerts.yml"
	rulesTestFile = "../../deploy/prometheus/lwa-alerts_test.yml"
	dashboardFile = "../../deploy/grafana/lwa.json"
	runbookFile   = "../../docs/runbook.md"
)

// alertRule is one alert of the rules file.
type alertRule struct {
	name, expr, runbookURL string
}

var (
	alertLine   = regexp.MustCompile(`^\s*- alert: (\S+)\s*$`)
	exprLine    = regexp.MustCompile(`^\s*expr: (.*)$`)
	runbookLine = regexp.MustCompile(`^\s*runbook_url: "([^"]+)"\s*$`)
)

// readAlerts reads the alerts of the rules file. Each expression is on
// one line (the test says so if not): the file stays simple to read for
// people and for this test.
func readAlerts(t *testing.T) []alertRule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	var rules []alertRule
	for n, line := range strings.Split(string(b), "\n") {
		if m := alertLine.FindStringSubmatch(line); m != nil {
			rules = append(rules, alertRule{name: m[1]})
			continue
		}
		if m := exprLine.FindStringSubmatch(line); m != nil {
			require.NotEmpty(t, rules, "%s:%d: an expression before any alert", rulesFile, n+1)
			e := strings.TrimSpace(m[1])
			require.False(t, e == "|" || e == ">" || strings.HasPrefix(e, "|") || strings.HasPrefix(e, ">"),
				"%s:%d: write each expression on one line", rulesFile, n+1)
			rules[len(rules)-1].expr = e
		}
		if m := runbookLine.FindStringSubmatch(line); m != nil && len(rules) > 0 {
			rules[len(rules)-1].runbookURL = m[1]
		}
	}
	require.NotEmpty(t, rules, "no alert in %s", rulesFile)
	for _, r := range rules {
		require.NotEmpty(t, r.expr, "alert %s has no expression", r.name)
	}
	return rules
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *datasource `json:"datasource"`
	Targets     []target    `json:"targets"`
	Panels      []panel     `json:"panels"` // a collapsed row's
	GridPos     struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

type target struct {
	Expr       string      `json:"expr"`
	RefID      string      `json:"refId"`
	Datasource *datasource `json:"datasource"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

// readDashboard reads the dashboard file.
func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d), dashboardFile)
	return d
}

// allPanels returns every panel, those of collapsed rows included.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// queries returns every PromQL expression of the dashboard: its panels'
// targets, and the selectors of its query variables (label_values(sel,
// label) becomes "max by (label) (sel)", which names the same things).
func (d dashboard) queries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		require.NoError(t, json.Unmarshal(v.Query, &q), "variable %s", v.Name)
		m := labelValues.FindStringSubmatch(q.Query)
		require.NotNil(t, m, "variable %s: want label_values(selector, label), got %q", v.Name, q.Query)
		out = append(out, "max by ("+m[2]+") ("+m[1]+")")
	}
	return out
}

// ruleQueries returns the expressions of the alerts.
func ruleQueries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range readAlerts(t) {
		out = append(out, r.expr)
	}
	return out
}
