// Package redistest starts real redis-server processes for tests: a single
// node (Start) or a one-node Redis Cluster (StartCluster), with the means to
// stop, restart, freeze (SIGSTOP) and thaw (SIGCONT) it, dump its whole
// keyspace and record every command it receives (MONITOR).
//
// It never skips: a machine without redis-server on PATH fails the test with
// an explanation, because a shared-cache test that silently does not run is
// worse than one that fails. CI must install redis-server (.ci/run).
//
// Every method that takes no testing.TB reports failures through the TB
// given to Start or StartCluster, with Fatalf: call them from the test's
// own goroutine.
package redistest
