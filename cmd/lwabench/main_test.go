package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/internal/conformance"
	"github.com/go-lwa/lwa/internal/redistest"
)

// Every server, verifier, fake upstream and client connection lwabench opens
// is closed before run returns. Two goroutines of fasthttp (Fiber's server)
// cannot be: its clock that refreshes the Date header once a second, started
// by the first server and never stopped, and the idle-worker cleaner of a
// stopped server's worker pool, which notices the stop only after its
// 10-second sleep (Fiber does not expose that duration).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, conformance.FasthttpLeakOptions()...)
}

// TestRunTiny runs lwabench with tiny settings and checks its table: a row
// per adapter, requests that succeeded, no errors, and every token verified
// upstream once per endpoint (each adapter has its own verifier).
func TestRunTiny(t *testing.T) {
	var out, stderr bytes.Buffer
	err := run(context.Background(), []string{"-d", "200ms", "-c", "4", "-tokens", "5", "-delay", "1ms"}, &out, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("output:\n%s", out.String())

	rows := map[string][]string{}
	var header []string
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if header == nil {
			header = cells
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) != len(header) {
			t.Fatalf("row %q has %d cells, header has %d", line, len(cells), len(header))
		}
		rows[cells[0]] = cells
	}
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in header %q", name, header)
		return -1
	}
	num := func(adapter, column string) float64 {
		cell := strings.TrimSuffix(rows[adapter][col(column)], " %")
		f, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			t.Fatalf("%s: column %q: %v", adapter, column, err)
		}
		return f
	}
	for _, a := range adapterNames {
		if rows[a] == nil {
			t.Errorf("no row for adapter %s", a)
			continue
		}
		for _, c := range []string{"bare req/s", "protected req/s"} {
			if num(a, c) <= 0 {
				t.Errorf("%s: %s = %v, want > 0", a, c, num(a, c))
			}
		}
		if n := num(a, "errors"); n != 0 {
			t.Errorf("%s: %v errors", a, n)
		}
		for _, c := range []string{"tokeninfo calls/token", "profile calls/token"} {
			if n := num(a, c); n < 1 || n > 1.2 {
				t.Errorf("%s: %s = %v, want ~1", a, c, n)
			}
		}
	}
	if len(rows) != len(adapterNames) {
		t.Errorf("%d rows, want %d", len(rows), len(adapterNames))
	}
}

// TestAdaptersFlag runs one adapter only.
func TestAdaptersFlag(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-adapters", "std", "-n", "20", "-c", "2", "-tokens", "2", "-delay", "0s"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| std |") || strings.Contains(out.String(), "| gin |") {
		t.Errorf("want only a std row:\n%s", out.String())
	}
}

// TestRefusesNonLoopback: lwabench only listens on loopback.
func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "10.1.2.3:8080", "localhost:0", "example.com:80", ":0", "127.0.0.1"} {
		err := run(context.Background(), []string{"-addr", addr}, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("-addr %s: no error", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "127.1.2.3:0", "[::1]:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("-addr %s: %v", addr, err)
		}
	}
}

// TestBadFlags: invalid settings are errors, not hangs.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-adapters", "martini"},
		{"-adapters", ""},
		{"-c", "0"},
		{"-tokens", "0"},
		{"-d", "0s"},
		{"-rounds", "0"},
		{"-delay", "-1s"},
		{"extra"},
		{"-replicas", "-1"},
		{"-redis", "127.0.0.1:6379"},
		{"-replicas", "2", "-redis", "nohostport"},
		{"-scenario", "storm"},
		{"-scenario", "outage", "-replicas", "2"},
		{"-scenario", "outage", "-total", "10s", "-outage-at", "8s"},
		{"-scenario", "outage", "-speed", "0"},
		{"-scenario", "outage", "-hot", "0"},
		{"-scenario", "outage", "-new-uses", "0"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// parseTable reads the single-row markdown table of the replicas mode.
func parseTable(t *testing.T, out string) map[string]string {
	t.Helper()
	var header, row []string
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			row = cells
		}
	}
	require.NotNil(t, row, "no table row in:\n%s", out)
	require.Len(t, row, len(header))
	m := map[string]string{}
	for i, h := range header {
		m[h] = row[i]
	}
	return m
}

func cellNum(t *testing.T, m map[string]string, col string) float64 {
	t.Helper()
	cell, ok := m[col]
	require.True(t, ok, "no column %q", col)
	f, err := strconv.ParseFloat(cell, 64)
	require.NoError(t, err, "column %q", col)
	return f
}

// TestReplicasSharedRedis: three replicas sharing a real redis-server, each
// with its own client, every token sent to every replica at once: each
// token is verified upstream once fleet-wide (tokeninfo + profile ≈ 2).
func TestReplicasSharedRedis(t *testing.T) {
	rs := redistest.Start(t)
	var out, stderr bytes.Buffer
	// A generous Redis timeout: under -race on a shared machine, the 50 ms
	// default can expire, and a replica that cannot reach Redis in time
	// verifies by itself (an extra upstream call, by design).
	err := run(context.Background(), []string{"-replicas", "3", "-redis", rs.Addr(), "-redis-timeout", "1s",
		"-d", "300ms", "-rounds", "1", "-c", "8", "-tokens", "20", "-delay", "5ms"}, &out, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	t.Logf("output:\n%s", out.String())
	m := parseTable(t, out.String())
	assert.Equal(t, "3", m["replicas"])
	assert.Equal(t, "redis", m["shared cache"])
	assert.Equal(t, 60.0, cellNum(t, m, "first-use requests"), "every token on every replica")
	assert.Zero(t, cellNum(t, m, "errors"))
	assert.Positive(t, cellNum(t, m, "req/s"))
	calls := cellNum(t, m, "upstream calls/token")
	assert.GreaterOrEqual(t, calls, 2.0, "every token verified")
	assert.LessOrEqual(t, calls, 2.2, "one verification per token fleet-wide")
	assert.Contains(t, out.String(), "upstream calls per distinct token: ")
}

// TestReplicasIndependent: without a shared cache, each of N replicas
// verifies every token itself: ≈ 2 × N upstream calls per token.
func TestReplicasIndependent(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-replicas", "3",
		"-d", "200ms", "-rounds", "1", "-c", "8", "-tokens", "20", "-delay", "2ms"}, &out, io.Discard)
	require.NoError(t, err)
	m := parseTable(t, out.String())
	assert.Equal(t, "none", m["shared cache"])
	assert.Zero(t, cellNum(t, m, "errors"))
	calls := cellNum(t, m, "upstream calls/token")
	assert.GreaterOrEqual(t, calls, 6.0)
	assert.LessOrEqual(t, calls, 6.2)
}

// TestReplicasRedisDown: an unreachable Redis is an error, not a hang.
func TestReplicasRedisDown(t *testing.T) {
	rs := redistest.Start(t)
	addr := rs.Addr()
	rs.Stop()
	err := run(context.Background(), []string{"-replicas", "2", "-redis", addr, "-n", "10"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
}

// outageArgs is the outage script played six times faster (5 s): the same
// phases, TTL, timeout and breaker cooldown, scaled, under a light load
// (-race on a shared machine).
func outageArgs(plot string, stale string) []string {
	return []string{"-scenario", "outage", "-speed", "6", "-stale-if-error", stale,
		"-c", "2", "-hot", "5", "-hot-rate", "40", "-new-rate", "10", "-new-uses", "1", "-plot", plot}
}

// summaryLine returns the line of the outage summary about name.
func summaryLine(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  \[(PASS|FAIL|info|note)\] ` + regexp.QuoteMeta(name) + `: .*$`).FindString(out)
	require.NotEmpty(t, m, "no summary line %q in:\n%s", name, out)
	return m
}

// TestOutageScenario plays the compressed outage with stale-if-error on and
// checks its structure: every phase happened (a per-second row in each),
// the breaker opened and closed again as the verifier's Observer reported
// it (the per-second breaker column, the summary, the plot's band), answers
// were served stale and counted by the Observer, hot tokens were served all
// through the outage, the upstream recovered, and the chart is well-formed
// SVG. Latency targets are not asserted: this is a unit test on a shared
// machine, under -race.
func TestOutageScenario(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "outage.svg")
	var out, stderr bytes.Buffer
	err := run(context.Background(), outageArgs(plot, "5m"), &out, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	o := out.String()
	t.Logf("output:\n%s", o)

	for _, phase := range []string{"normal", "hang", "5xx", "recovered"} {
		assert.Regexp(t, `(?m)^\| \d+ \| `+phase+` \|`, o, "no second in phase %s", phase)
	}
	assert.Contains(t, summaryLine(t, o, "script"), "returns at 20.00 s")
	assert.Regexp(t, `opened at \d+\.\d\d s, \d+\.\d\d s after the upstream started hanging \(the verifier's Observer\); the first 503 ErrUpstreamUnavailable answered at`,
		summaryLine(t, o, "breaker opens on a hang"), "the breaker never opened")
	assert.Contains(t, summaryLine(t, o, "new tokens once the breaker is open"), "from the breaker's opening at")
	assert.Regexp(t, `^  \[PASS\] `, summaryLine(t, o, "hot tokens through the outage"), "hot tokens not all served with stale-if-error on")
	assert.Regexp(t, `first fresh token verified .*, the breaker closed \d+\.\d\d s after the upstream returned; .*breaker closed at the end`, summaryLine(t, o, "recovery"))
	assert.Contains(t, summaryLine(t, o, "goroutines bounded"), "peak")
	assert.Regexp(t, `^  \[info\] stale answers: [1-9]\d* served stale \(the verifier's Observer\)`, summaryLine(t, o, "stale answers"))

	// The per-second table: the breaker's states from the Observer, closed
	// before the outage and after it, open during it; stale answers only
	// while the upstream is down (or until the breaker closes again).
	var staleSeconds int
	for _, row := range regexp.MustCompile(`(?m)^\| (\d+) \| (\w+) \| ([a-z/-]+) \| \d+ \| [^|]+ \| [^|]+ \| \d+ \| (\d+) \|`).FindAllStringSubmatch(o, -1) {
		sec, phase, breaker, stale := row[1], row[2], row[3], row[4]
		if phase == "normal" {
			assert.Equal(t, "closed", breaker, "second %s", sec)
			assert.Equal(t, "0", stale, "second %s", sec)
		}
		if phase == "5xx" {
			assert.Contains(t, breaker, "open", "second %s: Amazon fails, the breaker is open or probing", sec)
		}
		if stale != "0" {
			staleSeconds++
			assert.Contains(t, []string{"hang", "5xx", "recovered"}, phase, "second %s", sec)
		}
	}
	assert.Positive(t, staleSeconds, "no second with stale answers")
	assert.Regexp(t, `(?m)^\| 29 \| recovered \| closed \|`, o, "closed at the end")

	svg, err := os.ReadFile(plot)
	require.NoError(t, err)
	assert.Contains(t, string(svg), "<svg")
	assert.Regexp(t, `<title>breaker open from \d+\.\d\d s to \d+\.\d\d s</title>`, string(svg), "the breaker band")
	assert.Regexp(t, `<title>breaker closed from 0\.00 s to \d+\.\d\d s</title>`, string(svg), "the breaker band")
	assert.Contains(t, string(svg), `stroke="`+staleColor+`"`, "the stale answers' line")
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the SVG is not well-formed XML")
	}
}

// TestOutageWithoutStale: with stale-if-error off, hot tokens are served
// while their normal TTL lasts and not after it, until the upstream returns.
func TestOutageWithoutStale(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "outage.svg")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), outageArgs(plot, "0"), &out, io.Discard))
	o := out.String()
	t.Logf("output:\n%s", o)
	assert.Contains(t, o, "summary (stale-if-error off)")
	assert.Contains(t, summaryLine(t, o, "stale answers"), "none served (stale-if-error is off)")
	assert.Regexp(t, `^  \[note\] `, summaryLine(t, o, "hot tokens through the outage"), "past their TTL, hot tokens cannot be served without stale-if-error")
	assert.Contains(t, summaryLine(t, o, "hot tokens within their normal TTL"), "only stale-if-error can serve those")
}
