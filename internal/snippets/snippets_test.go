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
		"not in the body":         {"<!-- compiled by: x_test.go ExampleA -->\n```go\nb := 2\n```\n", []string{"not in the body of ExampleA"}},
		"lines out of order":      {"<!-- compiled by: x_test.go ExampleA -->\n```go\nprintln(a)\na := 1\n```\n", []string{"not in the body"}},
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
