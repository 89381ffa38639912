package otellwa_test

import (
	"testing"

	"github.com/go-lwa/lwa/internal/snippets"
)

// TestDocsOperations: the Go snippets of README.md compiled in this
// package (the Prometheus wiring) are, line for line, its examples.
func TestDocsOperations(t *testing.T) {
	snippets.CheckUnder(t, "README.md", "otellwa/")
}
