package deploytest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// promtool returns the path of promtool, or fails the test saying what to
// install: a check that does not run is worse than one that fails.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found on PATH: install Debian's prometheus package (apt-get install prometheus), which provides it; .ci/run installs it when missing: %v", err)
	}
	return p
}

// runPromtool runs promtool with args in dir and returns its combined
// output and its error.
func runPromtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPromtoolCheckRules: the rules file is valid for Prometheus, with
// every alert the test reads from it.
func TestPromtoolCheckRules(t *testing.T) {
	out, err := runPromtool(t, ".", "check", "rules", rulesFile)
	require.NoError(t, err, out)
	assert.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(readAlerts(t))), out)
}

// TestPromtoolTestRules: promtool's unit tests of the rules pass: each
// alert fires on synthetic series and clears when they recover.
func TestPromtoolTestRules(t *testing.T) {
	out, err := runPromtool(t, filepath.Dir(rulesTestFile), "test", "rules", filepath.Base(rulesTestFile))
	require.NoError(t, err, out)
	assert.Contains(t, out, "SUCCESS", out)
}

// TestAlertTestsCanFail: the unit tests check each alert both ways. With
// an alert's expression replaced by one that never fires, or by one that
// always fires, promtool test rules fails, naming that alert.
func TestAlertTestsCanFail(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	tests, err := os.ReadFile(rulesTestFile)
	require.NoError(t, err)
	for _, a := range readAlerts(t) {
		for _, mutant := range []string{"vector(0) > 1", "vector(1)"} {
			t.Run(a.name+" "+mutant, func(t *testing.T) {
				exprOf := regexp.MustCompile(`(?m)(- alert: ` + regexp.QuoteMeta(a.name) + `\n\s*expr: ).*$`)
				require.Len(t, exprOf.FindAllIndex(rules, -1), 1)
				mutated := exprOf.ReplaceAll(rules, []byte("${1}"+mutant))
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(rulesFile)), mutated, 0o644))
				require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(rulesTestFile)), tests, 0o644))
				out, err := runPromtool(t, dir, "test", "rules", filepath.Base(rulesTestFile))
				require.Error(t, err, "the tests pass with %s's expression replaced by %q:\n%s", a.name, mutant, out)
				assert.Contains(t, out, "alertname: "+a.name, out)
			})
		}
	}
}

// TestEveryAlertTestedAndDocumented: every alert has unit tests and a
// section of the runbook, which its runbook_url points at.
func TestEveryAlertTestedAndDocumented(t *testing.T) {
	tests, err := os.ReadFile(rulesTestFile)
	require.NoError(t, err)
	runbook, err := os.ReadFile(runbookFile)
	require.NoError(t, err)
	for _, a := range readAlerts(t) {
		assert.Contains(t, string(tests), "alertname: "+a.name, "%s has no unit test", a.name)
		assert.Regexp(t, `(?m)^## `+regexp.QuoteMeta(a.name)+`$`, string(runbook), "%s has no section in %s", a.name, runbookFile)
		assert.Equal(t, "https://github.com/go-lwa/lwa/blob/main/docs/runbook.md#"+strings.ToLower(a.name), a.runbookURL, a.name)
	}
}
