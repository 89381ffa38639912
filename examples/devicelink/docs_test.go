package devicelink_test

import (
	"testing"

	"github.com/go-lwa/lwa/internal/snippets"
)

// The Go snippets of the "TVs and devices" section are this package's code.
func TestDocSnippets(t *testing.T) {
	snippets.Check(t, "docs/readme/devices.md")
}
