package devicelink_test

import (
	"testing"

	"github.com/go-lwa/lwa/internal/snippets"
)

// The Go snippets of README.md's "TVs and devices" section are, line for
// line, this package's code.
func TestDocSnippets(t *testing.T) {
	snippets.CheckUnder(t, "README.md", "examples/devicelink/")
}
