package redislwa_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// subscription is stopped, every abandoned call has returned, every client
// is closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
