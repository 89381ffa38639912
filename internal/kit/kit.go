// Package kit is the plumbing our six HTTP adapters share and no app needs:
// building Require's Verifier, checking New's arguments, and the
// http.ResponseWriter a custom error handler writes through. An adapter for
// another framework needs none of it: core's Verifier.Authenticate,
// Request, Policy and WriteError are enough (see core's adapter example).
package kit

import (
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/bridge"
)

// MustVerifier builds the Verifier of an adapter's Require, panicking with a
// message that starts with pkg (as regexp.MustCompile does) when the
// configuration is invalid, so that a misconfigured server fails at startup
// rather than on its first request. core.CloseRequired closes it.
func MustVerifier(pkg string, opts ...core.Option) *core.Verifier {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic(pkg + ".Require: " + err.Error())
	}
	bridge.AddRequired(v)
	return v
}

// Config checks the arguments of an adapter's New and returns its Config
// (the zero Config when none is given). It panics, with a message that
// starts with pkg, when v is nil, when more than one Config is given, or
// when the Config's policy is invalid (policy returns it).
func Config[C any](pkg string, v *core.Verifier, cfg []C, policy func(C) core.Policy) C {
	var c C
	if v == nil || len(cfg) > 1 {
		panic(pkg + ".New: want a non-nil *core.Verifier and at most one Config")
	}
	if len(cfg) == 1 {
		c = cfg[0]
	}
	if err := policy(c).Validate(); err != nil {
		panic(pkg + ".New: " + err.Error())
	}
	return c
}

// WithClock returns the core.Option that runs a Verifier on now: lwatest's
// Server.Verifier passes the fake server's clock.
func WithClock(now func() time.Time) core.Option {
	return bridge.WithClock(now).(core.Option)
}
