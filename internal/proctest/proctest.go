// Package proctest holds what the tests that start real processes (Redis,
// nginx, the demo, lwaauthz, the TV example) share: a free loopback port
// and a buffer that collects a process's output while the test reads it.
package proctest

import (
	"bytes"
	"net"
	"sync"
)

// FreePort asks the kernel for a free loopback TCP port. Another process can
// take it before the caller binds it; callers that start a server retry.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Output is a bytes.Buffer safe for concurrent writers and readers: a
// process's stdout and stderr, read by the test for its failure messages.
// The zero value is ready to use.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// WriteString appends s.
func (o *Output) WriteString(s string) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.WriteString(s)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
