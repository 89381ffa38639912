package core

import (
	"errors"
	"sync"
)

// required holds the Verifiers that adapters' Require built, for
// CloseRequired.
var required struct {
	sync.Mutex
	vs []*Verifier
}

// CloseRequired closes every Verifier that an adapter's Require or
// RequireWith built, and forgets them; the middleware using them must not
// serve requests afterwards. Such a Verifier otherwise lives as long as the
// program, which is what a server wants; a test that checks for leaked
// goroutines (go.uber.org/goleak) calls CloseRequired in its cleanup, or
// builds its middleware with New and a Verifier it closes (lwatest's
// Server.Verifier closes itself).
func CloseRequired() error {
	required.Lock()
	vs := required.vs
	required.vs = nil
	required.Unlock()
	var errs []error
	for _, v := range vs {
		errs = append(errs, v.Close())
	}
	return errors.Join(errs...)
}

// MustVerifier builds the Verifier of an adapter's Require, panicking with
// a message that starts with pkg (as regexp.MustCompile does) when the
// configuration is invalid, so that a misconfigured server fails at startup
// rather than on its first request. CloseRequired closes it.
func MustVerifier(pkg string, opts ...Option) *Verifier {
	v, err := NewVerifier(opts...)
	if err != nil {
		panic(pkg + ".Require: " + err.Error())
	}
	required.Lock()
	required.vs = append(required.vs, v)
	required.Unlock()
	return v
}

// AdapterConfig checks the arguments of an adapter's New and returns its
// Config (the zero Config when none is given). It panics, with a message
// that starts with pkg, when v is nil or more than one Config is given.
func AdapterConfig[C any](pkg string, v *Verifier, cfg []C) C {
	var c C
	if v == nil || len(cfg) > 1 {
		panic(pkg + ".New: want a non-nil *core.Verifier and at most one Config")
	}
	if len(cfg) == 1 {
		c = cfg[0]
	}
	return c
}
