package deploytest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A small reader of the PromQL the dashboard and the rules use: enough to
// find every metric a query names, with the labels its matchers and its
// grouping clauses name. promtool checks that the same queries parse (see
// TestDashboardQueriesParse); this only has to find the names.

// selector is one vector selector of a query: a metric name and its label
// matchers.
type selector struct {
	metric   string
	matchers []matcher
}

// matcher is one label matcher, its value as written (unquoted, unescaped
// only for plain quotes).
type matcher struct {
	label, op, value string
}

// query is what one PromQL expression names.
type query struct {
	selectors []selector
	grouping  []string // the labels of by, without, on, ignoring, group_left, group_right
}

var (
	aggregators = words("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio")
	groupings   = words("by without on ignoring group_left group_right")
	keywords    = words("bool and or unless offset atan2 inf nan")
)

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseQuery returns the selectors and grouping labels of expr. Grafana
// variables ($job, ${job}, $__rate_interval) may appear where a string or a
// duration would.
func parseQuery(expr string) (query, error) {
	var q query
	s := expr
	i := 0
	last := -1 // index in q.selectors of a selector a '{' would belong to
	skipSpace := func(j int) int {
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		return j
	}
	ident := func(j int) (string, int) {
		k := j
		for k < len(s) && isIdent(s[k]) {
			k++
		}
		return s[j:k], k
	}
	str := func(j int) (int, error) { // j at the opening quote; returns the index after the closing one
		quote := s[j]
		for k := j + 1; k < len(s); k++ {
			switch {
			case s[k] == '\\' && quote != '`':
				k++
			case s[k] == quote:
				return k + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string at %d in %q", j, expr)
	}
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '"' || c == '\'' || c == '`':
			j, err := str(i)
			if err != nil {
				return q, err
			}
			i = j
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return q, fmt.Errorf("unterminated range at %d in %q", i, expr)
			}
			i += j + 1
		case c == '{':
			if last < 0 {
				return q, fmt.Errorf("a selector without a metric name at %d in %q", i, expr)
			}
			i++
			for {
				i = skipSpace(i)
				if i < len(s) && s[i] == '}' {
					i++
					break
				}
				name, j := ident(i)
				if name == "" {
					return q, fmt.Errorf("a label name expected at %d in %q", i, expr)
				}
				m := matcher{label: name}
				i = skipSpace(j)
				switch {
				case strings.HasPrefix(s[i:], "=~"), strings.HasPrefix(s[i:], "!~"), strings.HasPrefix(s[i:], "!="):
					m.op = s[i : i+2]
					i += 2
				case strings.HasPrefix(s[i:], "="):
					m.op = "="
					i++
				default:
					return q, fmt.Errorf("a matcher operator expected at %d in %q", i, expr)
				}
				i = skipSpace(i)
				if i >= len(s) || (s[i] != '"' && s[i] != '\'' && s[i] != '`') {
					return q, fmt.Errorf("a label value expected at %d in %q", i, expr)
				}
				j, err := str(i)
				if err != nil {
					return q, err
				}
				m.value = strings.ReplaceAll(s[i+1:j-1], `\"`, `"`)
				q.selectors[last].matchers = append(q.selectors[last].matchers, m)
				i = skipSpace(j)
				if i < len(s) && s[i] == ',' {
					i++
				}
			}
			last = -1
			continue
		case c == '$': // a Grafana variable
			i++
			if i < len(s) && s[i] == '{' {
				j := strings.IndexByte(s[i:], '}')
				if j < 0 {
					return q, fmt.Errorf("unterminated variable at %d in %q", i, expr)
				}
				i += j + 1
			} else {
				_, i = ident(i)
			}
		case isIdentStart(c):
			name, j := ident(i)
			next := skipSpace(j)
			i = j
			switch {
			case groupings[name]:
				if next < len(s) && s[next] == '(' {
					end := strings.IndexByte(s[next:], ')')
					if end < 0 {
						return q, fmt.Errorf("unterminated label list at %d in %q", next, expr)
					}
					for _, l := range strings.Split(s[next+1:next+end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							q.grouping = append(q.grouping, l)
						}
					}
					i = next + end + 1
				}
			case aggregators[name], keywords[name], next < len(s) && s[next] == '(':
				// an aggregation, a keyword or a function call
			default:
				q.selectors = append(q.selectors, selector{metric: name})
				last = len(q.selectors) - 1
				continue
			}
		case '0' <= c && c <= '9' || c == '.':
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' || (s[i] == '-' || s[i] == '+') && (s[i-1] == 'e' || s[i-1] == 'E')) {
				i++
			}
		default:
			i++
		}
		last = -1
	}
	return q, nil
}

// TestParseQuery: the reader finds every metric, with the labels of its
// matchers, and the grouping labels, and nothing else.
func TestParseQuery(t *testing.T) {
	tests := []struct {
		expr      string
		selectors []selector
		grouping  []string
	}{{
		expr:      `lwa_requests_total`,
		selectors: []selector{{metric: "lwa_requests_total"}},
	}, {
		expr: `sum by (job, instance) (lwa_breaker_state{lwa_breaker_state!="closed"}) > 0`,
		selectors: []selector{
			{metric: "lwa_breaker_state", matchers: []matcher{{"lwa_breaker_state", "!=", "closed"}}},
		},
		grouping: []string{"job", "instance"},
	}, {
		expr: `histogram_quantile(0.99, sum by (le, lwa_endpoint) (rate(lwa_upstream_duration_seconds_bucket{job=~"$job",instance=~"$instance"}[$__rate_interval])))`,
		selectors: []selector{
			{metric: "lwa_upstream_duration_seconds_bucket", matchers: []matcher{{"job", "=~", "$job"}, {"instance", "=~", "$instance"}}},
		},
		grouping: []string{"le", "lwa_endpoint"},
	}, {
		expr: "sum(rate(a_total{x=\"1\", y='2', z=`3`}[5m] offset 1h)) without(z) / on (x) group_left(w) sum(rate(b_total [ 5m ])) * 1e-3 > bool 0.05 and c_seconds_count unless d:recorded",
		selectors: []selector{
			{metric: "a_total", matchers: []matcher{{"x", "=", "1"}, {"y", "=", "2"}, {"z", "=", "3"}}},
			{metric: "b_total"},
			{metric: "c_seconds_count"},
			{metric: "d:recorded"},
		},
		grouping: []string{"z", "x", "w"},
	}, {
		expr: `topk(5, max by (le) (lwa_x_bucket{a="}{,\"=",b!~".*"})) or vector(0)`,
		selectors: []selector{
			{metric: "lwa_x_bucket", matchers: []matcher{{"a", "=", `}{,"=`}, {"b", "!~", ".*"}}},
		},
		grouping: []string{"le"},
	}}
	for _, tt := range tests {
		q, err := parseQuery(tt.expr)
		require.NoError(t, err, tt.expr)
		assert.Equal(t, tt.selectors, q.selectors, tt.expr)
		assert.Equal(t, tt.grouping, q.grouping, tt.expr)
	}
	for _, bad := range []string{`{__name__="x"}`, `x{a="1"`, `x{a}`, `x[5m`, `x{a="1}`} {
		_, err := parseQuery(bad)
		assert.Error(t, err, bad)
	}
}

// metricsOf returns the metric names of exprs, sorted, without repeats.
func metricsOf(t *testing.T, exprs []string) []string {
	t.Helper()
	var names []string
	for _, e := range exprs {
		q, err := parseQuery(e)
		require.NoError(t, err, e)
		for _, s := range q.selectors {
			names = append(names, s.metric)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
