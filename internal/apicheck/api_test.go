package apicheck

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite api/v1.txt from the code")

const header = `# The exported API of github.com/go-lwa/lwa, frozen for v1: one line per
# name, field, method and interface method. internal/apicheck's TestAPI fails
# when the code and this listing differ; a deliberate change updates both in
# the same commit (go test ./internal/apicheck -run TestAPI -update) and is
# listed in CHANGELOG.md.
`

// TestAPI fails when an exported name, signature, field or method set of a
// public package changes without api/v1.txt changing with it.
func TestAPI(t *testing.T) {
	root := filepath.Join("..", "..")
	got, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "api", "v1.txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(header+strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := ReadListing(file)
	if err != nil {
		t.Fatalf("%v (create it with go test ./internal/apicheck -run TestAPI -update)", err)
	}
	removed, added := Diff(want, got)
	for _, l := range removed {
		t.Errorf("removed or changed from api/v1.txt: %s", l)
	}
	for _, l := range added {
		t.Errorf("added, or the changed form of a line above: %s", l)
	}
	if len(removed)+len(added) > 0 {
		t.Log("the public API changed: if on purpose, run go test ./internal/apicheck -run TestAPI -update and list the change in CHANGELOG.md")
	}
}

// TestListingSeesChanges: a planted change of each kind (a new function, a
// changed signature, a removed method, a new field, a new interface
// method) changes the listing.
func TestListingSeesChanges(t *testing.T) {
	base := `package p
type T struct{ A int; b int }
type I interface{ M(x int) error }
func (t *T) Do(ctx string) error { return nil }
func F(a, b int) (int, error) { return 0, nil }
const C = "c"
`
	before := listSource(t, base)
	for name, changed := range map[string]string{
		"new function":         base + "func G() {}\n",
		"changed signature":    strings.Replace(base, "func F(a, b int)", "func F(a int, b string)", 1),
		"removed method":       strings.Replace(base, "func (t *T) Do(ctx string) error { return nil }", "", 1),
		"method set T vs *T":   strings.Replace(base, "func (t *T) Do", "func (t T) Do", 1),
		"new field":            strings.Replace(base, "A int;", "A int; B string;", 1),
		"new interface method": strings.Replace(base, "M(x int) error", "M(x int) error; N()", 1),
		"changed constant":     strings.Replace(base, `C = "c"`, `C = "d"`, 1),
	} {
		removed, added := Diff(before, listSource(t, changed))
		if len(removed)+len(added) == 0 {
			t.Errorf("%s: the listing did not change", name)
		}
	}
	// A renamed parameter or an unexported change is not an API change.
	for name, same := range map[string]string{
		"renamed parameter":   strings.Replace(base, "Do(ctx string)", "Do(c string)", 1),
		"unexported field":    strings.Replace(base, "b int", "b string", 1),
		"unexported function": base + "func helper() {}\n",
	} {
		removed, added := Diff(before, listSource(t, same))
		if len(removed)+len(added) != 0 {
			t.Errorf("%s: the listing changed: -%v +%v", name, removed, added)
		}
	}
}

// listSource lists one package made of src.
func listSource(t *testing.T, src string) []string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "p"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "p", "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}
