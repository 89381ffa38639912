// Package snippets checks that the Go snippets of a Markdown file are
// compiled code: every ```go block must be preceded by a comment
//
//	<!-- compiled by: path/file_test.go FuncName -->
//
// (path from the module root) and its lines, indentation and blank lines
// aside, must appear in that order, one after the other, in the function
// FuncName: its body, or the whole function from its signature to its
// closing brace. A comment without FuncName,
//
//	<!-- compiled by: path/file_test.go -->
//
// matches anywhere in the file: for a snippet that shows an import block.
// The module's root test checks all of README.md with Check; the packages
// whose code compiles some of its snippets check those with CheckUnder, so
// that a snippet cannot drift from the code that compiles it.
package snippets

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var compiledBy = regexp.MustCompile(`^<!-- compiled by: (\S+)(?: (\w+))? -->$`)

// Check checks the Markdown file at mdPath (from the module root) and
// reports every snippet that is not compiled where its comment says.
func Check(t testing.TB, mdPath string) {
	t.Helper()
	check(t, mdPath, "")
}

// CheckUnder is Check for the snippets of mdPath compiled by files under
// dir (a path from the module root, such as "region/"): those of one
// package. It reports too when there is none.
func CheckUnder(t testing.TB, mdPath, dir string) {
	t.Helper()
	check(t, mdPath, dir)
}

func check(t testing.TB, mdPath, dir string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range ProblemsUnder(root, mdPath, dir) {
		t.Error(problem)
	}
}

// Problems returns what is wrong with the snippets of mdPath, nil if
// nothing.
func Problems(root, mdPath string) []string {
	return ProblemsUnder(root, mdPath, "")
}

// ProblemsUnder returns what is wrong with the snippets of mdPath compiled
// by files under dir ("" for every snippet, and every snippet must say
// where it is compiled), nil if nothing.
func ProblemsUnder(root, mdPath, dir string) []string {
	md, err := os.ReadFile(filepath.Join(root, mdPath))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var where []string // the last "compiled by" comment, unused yet
	var block []string
	inGo, blocks := false, 0
	for i, line := range strings.Split(string(md), "\n") {
		switch {
		case inGo && strings.TrimSpace(line) == "```":
			inGo = false
			if where == nil {
				if dir == "" {
					blocks++
					problems = append(problems, fmt.Sprintf("%s:%d: a Go snippet without <!-- compiled by: path Func -->", mdPath, i+1))
				}
				continue
			}
			if dir != "" && !strings.HasPrefix(where[0], dir) {
				where = nil
				continue
			}
			blocks++
			if p := checkBlock(root, where[0], where[1], block); p != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: %s", mdPath, i+1, p))
			}
			where = nil
		case inGo:
			block = append(block, line)
		case strings.TrimSpace(line) == "```go":
			inGo, block = true, nil
		default:
			if m := compiledBy.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				where = m[1:]
			}
		}
	}
	if blocks == 0 && dir == "" {
		problems = append(problems, mdPath+": no Go snippet")
	} else if blocks == 0 {
		problems = append(problems, mdPath+": no Go snippet compiled under "+dir)
	}
	return problems
}

// checkBlock returns what is wrong with one snippet, or "". fn "" means
// the whole file.
func checkBlock(root, path, fn string, block []string) string {
	src, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		return err.Error()
	}
	code, where := strings.Split(string(src), "\n"), path
	if fn != "" {
		var ok bool
		if code, ok = funcLines(string(src), fn); !ok {
			return fmt.Sprintf("%s has no func %s", path, fn)
		}
		where = "func " + fn + " in " + path
	}
	want, have := normalize(block), normalize(code)
	if len(want) == 0 {
		return "an empty snippet"
	}
	for start := 0; start+len(want) <= len(have); start++ {
		if equal(have[start:start+len(want)], want) {
			return ""
		}
	}
	return "the snippet is not in " + where
}

// funcLines returns the lines of the top-level function fn, from its
// signature to its closing brace at the start of a line.
func funcLines(src, fn string) ([]string, bool) {
	lines := strings.Split(src, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "func "+fn+"(") {
			for j := i + 1; j < len(lines); j++ {
				if lines[j] == "}" {
					return lines[i : j+1], true
				}
			}
		}
	}
	return nil, false
}

// normalize trims every line and drops the empty ones.
func normalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// moduleRoot finds the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("snippets: no go.mod above the working directory")
		}
		dir = parent
	}
}
