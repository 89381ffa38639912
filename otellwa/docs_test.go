package otellwa_test

import (
	"testing"

	"github.com/go-lwa/lwa/internal/snippets"
)

// TestDocsOperations: the Go snippets of the README's operations section
// are this package's compiled examples.
func TestDocsOperations(t *testing.T) {
	snippets.Check(t, "docs/readme/operations.md")
}
