package region_test

import (
	"testing"

	"github.com/go-lwa/lwa/internal/snippets"
)

// The Go snippets of README.md's "Regions" section are, line for line,
// this package's examples.
func TestDocSnippets(t *testing.T) {
	snippets.CheckUnder(t, "README.md", "region/")
}
