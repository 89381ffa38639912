package deploytest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/internal/proctest"
	"github.com/go-lwa/lwa/internal/redistest"
)

// Every metric and label the dashboard and the alert rules name must be one
// that cmd/lwademo exports, under the name the OpenTelemetry Prometheus
// exporter gives it: the test builds the demo, starts two replicas sharing
// a real redis-server, runs the curl commands each prints (revocations
// included, so that each replica receives one from the other), and scrapes
// both /metrics.

// targetLabels are the labels Prometheus adds at scrape time: they are in
// no /metrics output.
var targetLabels = []string{"job", "instance"}

// failureOnly are label values otellwa exports only once something failed
// (a synchronous counter has no series before its first event); the demo,
// which runs against a fake Amazon that never fails, has none of them. They
// are otellwa's documented values (lwa.verifications: lwa.outcome = ok |
// rejected | error).
var failureOnly = map[string]map[string][]string{
	"lwa_verifications_total": {"lwa_outcome": {"error"}},
}

// exported is what a scrape found: for each sample name, its label names
// and the values of each.
type exported map[string]map[string]map[string]bool

// add reads one /metrics body in Prometheus text format.
func (e exported) add(t *testing.T, body string) {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, labels, err := parseSample(line)
		require.NoError(t, err, line)
		if e[name] == nil {
			e[name] = map[string]map[string]bool{}
		}
		for l, v := range labels {
			if e[name][l] == nil {
				e[name][l] = map[string]bool{}
			}
			e[name][l][v] = true
		}
	}
}

// parseSample reads the name and labels of one sample line:
// name{l="v",...} value.
func parseSample(line string) (string, map[string]string, error) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", nil, errors.New("no metric name")
	}
	name, labels := line[:i], map[string]string{}
	if line[i] == ' ' {
		return name, labels, nil
	}
	s := line[i+1:]
	for {
		s = strings.TrimLeft(s, ", ")
		if strings.HasPrefix(s, "}") {
			return name, labels, nil
		}
		eq := strings.Index(s, `="`)
		if eq <= 0 {
			return "", nil, errors.New("bad label")
		}
		l := s[:eq]
		var v strings.Builder
		j := eq + 2
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
				switch s[j] {
				case 'n':
					v.WriteByte('\n')
					continue
				}
			}
			v.WriteByte(s[j])
		}
		if j >= len(s) {
			return "", nil, errors.New("unterminated label value")
		}
		labels[l] = v.String()
		s = s[j+1:]
	}
}

// problems returns what the queries name that e does not export.
func (e exported) problems(queries []string) []string {
	var out []string
	for _, expr := range queries {
		q, err := parseQuery(expr)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		known := slices.Clone(targetLabels)
		for _, s := range q.selectors {
			labels, ok := e[s.metric]
			if !ok {
				out = append(out, fmt.Sprintf("%s: not exported (in %q)", s.metric, expr))
				continue
			}
			for l := range labels {
				known = append(known, l)
			}
			for _, m := range s.matchers {
				values, ok := labels[m.label]
				switch {
				case slices.Contains(targetLabels, m.label):
				case !ok:
					out = append(out, fmt.Sprintf("%s has no label %s (in %q)", s.metric, m.label, expr))
				case m.op == "=" && m.value != "" && !values[m.value] && !slices.Contains(failureOnly[s.metric][m.label], m.value):
					out = append(out, fmt.Sprintf("%s{%s=%q}: no such series (in %q)", s.metric, m.label, m.value, expr))
				}
			}
		}
		for _, g := range q.grouping {
			if !slices.Contains(known, g) {
				out = append(out, fmt.Sprintf("grouping by %s, a label of none of the query's metrics (in %q)", g, expr))
			}
		}
	}
	return out
}

// TestNamesExistInLwademo: every metric, label and label value the
// dashboard and the rules name is in what lwademo exports.
func TestNamesExistInLwademo(t *testing.T) {
	bin := buildDemo(t)
	rs := redistest.Start(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := []string{"LWA_SHARED_KEYS=" + base64.StdEncoding.EncodeToString(key)}
	a := startDemo(t, bin, env, "-redis", rs.Addr())
	b := startDemo(t, bin, env, "-redis", rs.Addr())
	a.runCommands(t)
	b.runCommands(t) // b's sign-out reaches a, and a's reached b

	e := exported{}
	for _, d := range []*demo{a, b} {
		var body string
		deadline := time.Now().Add(15 * time.Second)
		for {
			body = d.get(t, "/metrics")
			if strings.Contains(body, "lwa_revocation_lag_seconds_bucket{") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never received the other replica's revocation; its output:\n%s", d.base, d.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		e.add(t, body)
	}

	d := readDashboard(t)
	for _, p := range e.problems(d.queries(t)) {
		t.Errorf("%s: %s", dashboardFile, p)
	}
	for _, p := range e.problems(ruleQueries(t)) {
		t.Errorf("%s: %s", rulesFile, p)
	}

	// What the demo exports that neither names, for the record.
	used := metricsOf(t, append(d.queries(t), ruleQueries(t)...))
	var unused []string
	for name := range e {
		if strings.HasPrefix(name, "lwa_") && !slices.Contains(used, name) {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	t.Logf("exported by lwademo, in no query: %s", strings.Join(unused, ", "))
}

// TestNamesCheckCanFail: the check catches a metric, a label, a value or a
// grouping label that is not exported.
func TestNamesCheckCanFail(t *testing.T) {
	e := exported{}
	e.add(t, "# TYPE lwa_requests_total counter\n"+
		`lwa_requests_total{lwa_outcome="authenticated",otel_scope_name="x"} 3`+"\n"+
		`lwa_requests_total{error_type="not_found",lwa_outcome="rejected"} 1`+"\n"+
		`lwa_verifications_total{lwa_outcome="ok"} 1`+"\n")
	assert.Empty(t, e.problems([]string{
		`sum by (job, error_type) (rate(lwa_requests_total{lwa_outcome="rejected",instance=~"$instance"}[5m]))`,
		`sum(rate(lwa_verifications_total{lwa_outcome="error"}[5m]))`,
		`lwa_requests_total{error_type!=""}`,
	}))
	for _, bad := range []string{
		`lwa_request_total`,
		`lwa_requests_total{lwa_outcom="rejected"}`,
		`lwa_requests_total{lwa_outcome="rejeted"}`,
		`sum by (lwa_endpoint) (lwa_requests_total)`,
		`lwa_verifications_total{lwa_outcome="failed"}`,
	} {
		assert.Len(t, e.problems([]string{bad}), 1, bad)
	}
}

// buildDemo builds cmd/lwademo into a temporary directory.
func buildDemo(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command, to build cmd/lwademo")
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "lwademo")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/lwademo")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/lwademo:\n%s", out)
	return bin
}

// demo is a running lwademo.
type demo struct {
	base     string     // http://127.0.0.1:port
	commands [][]string // the curl commands it printed, as arguments
	out      *proctest.Output
	client   *http.Client
}

var servingOn = regexp.MustCompile(`^lwademo: serving on (http://127\.0\.0\.1:\d+)`)

// startDemo starts bin on a free loopback port, offline (no LWA_* from the
// environment but env), and waits until it has printed its commands. It is
// interrupted, and waited for, when the test ends.
func startDemo(t *testing.T, bin string, env []string, args ...string) *demo {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-web-addr", "off"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LWA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	d := &demo{out: &proctest.Output{}, client: &http.Client{Timeout: 30 * time.Second}}
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())

	ready := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		started := false
		for sc.Scan() {
			line := sc.Text()
			d.out.WriteString(line + "\n")
			if started {
				continue
			}
			if m := servingOn.FindStringSubmatch(line); m != nil {
				d.base = m[1]
			}
			if strings.HasPrefix(line, "curl ") {
				d.commands = append(d.commands, shellWords(line))
			}
			if line == "Press Ctrl-C to stop." {
				started = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		d.client.CloseIdleConnections()
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("lwademo exited before it was ready:\n%s", d.out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("lwademo not ready within 60 s:\n%s", d.out.String())
	}
	require.NotEmpty(t, d.base, d.out.String())
	require.NotEmpty(t, d.commands, d.out.String())
	return d
}

// shellWords splits a command line printed by the demo: words separated by
// spaces, single quotes around words with spaces.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			quoted = !quoted
			in = true
		case c == ' ' && !quoted:
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// runCommands sends every curl command the demo printed, in order.
func (d *demo) runCommands(t *testing.T) {
	t.Helper()
	for _, args := range d.commands {
		method, url := http.MethodGet, ""
		header := http.Header{}
		for i := 1; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-i":
			case a == "-X" && i+1 < len(args):
				i++
				method = args[i]
			case a == "-H" && i+1 < len(args):
				i++
				k, v, ok := strings.Cut(args[i], ": ")
				require.True(t, ok, "header %q", args[i])
				header.Add(k, v)
			case strings.HasPrefix(a, "http://"):
				url = a
			default:
				t.Fatalf("a curl argument this test does not know: %q", a)
			}
		}
		require.NotEmpty(t, url, "no URL in %q", args)
		req, err := http.NewRequest(method, url, nil)
		require.NoError(t, err)
		req.Header = header
		resp, err := d.client.Do(req)
		require.NoError(t, err, "%s %s", method, url)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 500, "%s %s", method, url)
	}
}

// get returns the body of GET path.
func (d *demo) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := d.client.Get(d.base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
