package region_test

import (
	"testing"

	"github.com/go-lwa/lwa/internal/snippets"
)

// The Go snippets of the "Regions" section are this package's examples.
func TestDocSnippets(t *testing.T) {
	snippets.Check(t, "docs/readme/regions.md")
}
