// Package bridge carries what package core shares with this module's other
// packages without exporting it: the Verifiers that adapters' Require built
// (core.CloseRequired closes them) and options meant only for lwatest. It
// imports nothing of the module, so that core can import it; package kit
// and lwatest read it.
package bridge

import (
	"io"
	"sync"
	"time"
)

var required struct {
	sync.Mutex
	list []io.Closer
}

// AddRequired records a Verifier built by an adapter's Require.
func AddRequired(c io.Closer) {
	required.Lock()
	required.list = append(required.list, c)
	required.Unlock()
}

// TakeRequired returns and forgets the recorded Verifiers.
func TakeRequired() []io.Closer {
	required.Lock()
	defer required.Unlock()
	l := required.list
	required.list = nil
	return l
}

// WithClock is set by package core: it returns the core.Option that runs a
// Verifier's caches, breaker and revocations on now (lwatest's fake clock).
var WithClock func(now func() time.Time) any
