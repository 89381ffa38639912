package snippets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestProblems(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("x_test.go", "package x\n\nfunc ExampleA() {\n\ta := 1\n\tif a > 0 {\n\t\tprintln(a)\n\t}\n\t// Output:\n}\n")
	for name, tc := range map[string]struct {
		md   string
		want []string // substrings of the problems, in order; none for a good file
	}{
		"good, a contiguous part": {"<!-- compiled by: x_test.go ExampleA -->\n```go\nif a > 0 {\n    println(a)\n}\n```\n", nil},
		"no comment":              {"```go\na := 1\n```\n", []string{"without <!-- compiled by"}},
		"not in the body":         {"<!-- compiled by: x_test.go ExampleA -->\n```go\nb := 2\n```\n", []string{"not in func ExampleA in x_test.go"}},
		"lines out of order":      {"<!-- compiled by: x_test.go ExampleA -->\n```go\nprintln(a)\na := 1\n```\n", []string{"not in func ExampleA"}},
		"the whole function":      {"<!-- compiled by: x_test.go ExampleA -->\n```go\nfunc ExampleA() {\n\ta := 1\n\tif a > 0 {\n\t\tprintln(a)\n\t}\n\t// Output:\n}\n```\n", nil},
		"past the function's end": {"<!-- compiled by: x_test.go ExampleA -->\n```go\n\t// Output:\n}\nfunc ExampleB() {\n```\n", []string{"not in func ExampleA"}},
		"anywhere in the file":    {"<!-- compiled by: x_test.go -->\n```go\npackage x\n\nfunc ExampleA() {\n```\n", nil},
		"not in the file":         {"<!-- compiled by: x_test.go -->\n```go\nimport \"fmt\"\n```\n", []string{"not in x_test.go"}},
		"an empty snippet":        {"<!-- compiled by: x_test.go -->\n```go\n\n```\n", []string{"an empty snippet"}},
		"no such func":            {"<!-- compiled by: x_test.go ExampleB -->\n```go\na := 1\n```\n", []string{"has no func ExampleB"}},
		"no such file":            {"<!-- compiled by: y_test.go ExampleA -->\n```go\na := 1\n```\n", []string{"y_test.go"}},
		"no snippet at all":       {"# nothing\n```sh\nls\n```\n", []string{"no Go snippet"}},
		"one comment per snippet": {"<!-- compiled by: x_test.go ExampleA -->\n```go\na := 1\n```\n```go\na := 1\n```\n", []string{"without <!-- compiled by"}},
	} {
		write("doc.md", tc.md)
		got := Problems(root, "doc.md")
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %q, want %d problems", name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %q does not say %q", name, got[i], w)
			}
		}
	}
}

// TestProblemsUnder: a package checks the snippets compiled by its own
// files, and only those; it is told when there is none.
func TestProblemsUnder(t *testing.T) {
	root := t.TempDir()
	for name, text := range map[string]string{
		"a/a_test.go": "package a\n\nfunc F() {\n\tx := 1\n\t_ = x\n}\n",
		"b/b_test.go": "package b\n\nfunc G() {\n\ty := 2\n\t_ = y\n}\n",
	} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	md := "```go\nnot compiled anywhere\n```\n" +
		"<!-- compiled by: a/a_test.go F -->\n```go\nx := 1\n```\n" +
		"<!-- compiled by: b/b_test.go G -->\n```go\ndrifted := 3\n```\n"
	if err := os.WriteFile(filepath.Join(root, "README.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ProblemsUnder(root, "README.md", "a/"); len(got) != 0 {
		t.Errorf("a/: got %q, want none (b/'s drift and the uncommented block are not a/'s)", got)
	}
	if got := ProblemsUnder(root, "README.md", "b/"); len(got) != 1 || !strings.Contains(got[0], "not in func G") {
		t.Errorf("b/: got %q, want b/'s drift", got)
	}
	if got := ProblemsUnder(root, "README.md", "c/"); len(got) != 1 || !strings.Contains(got[0], "no Go snippet compiled under c/") {
		t.Errorf("c/: got %q, want: none compiled there", got)
	}
	if got := Problems(root, "README.md"); len(got) != 2 {
		t.Errorf("everything: got %q, want the uncommented block and b/'s drift", got)
	}
}
