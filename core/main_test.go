package core_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// Verifier is closed (which stops its cache's goroutines) and every lwatest
// server is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
