package redislwa_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: every
// subscription is stopped, every abandoned call has returned, every client
// is closed. go-redis' log lines about the servers the tests stop on purpose
// are dropped.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
