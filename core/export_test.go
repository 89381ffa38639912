package core

import (
	"net/http"
	"sync/atomic"
	"time"
)

// WithNowNano replaces the cache's clock, so tests can age entries without
// sleeping.
func WithNowNano(now func() int64) Option {
	return func(c *config) { c.nowNano = now }
}

// Printable exposes printable for tests of its word-at-a-time loop.
var Printable = printable

// KeyOf exposes the cache key derivation.
var KeyOf = keyOf

// FakeClock is a manual clock for the cache, safe for concurrent use.
type FakeClock struct{ nanos atomic.Int64 }

// NewFakeClock starts a clock at the current time.
func NewFakeClock() *FakeClock {
	c := &FakeClock{}
	c.nanos.Store(time.Now().UnixNano())
	return c
}

// Now returns the clock's time in Unix nanoseconds.
func (c *FakeClock) Now() int64 { return c.nanos.Load() }

// Advance moves the clock forward.
func (c *FakeClock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }

// WithClock is the clock option lwatest passes through internal/bridge.
var WithClock = withClock

// WithMaxConcurrentVerifications is WithConcurrency with the default wait
// bound.
func WithMaxConcurrentVerifications(n int) Option {
	return func(c *config) { c.maxConcurrent = n }
}

// WithMaxPendingVerifications is WithConcurrency with the default slot
// count.
func WithMaxPendingVerifications(n int) Option {
	return func(c *config) { c.maxPending = n }
}

// TokenSources is a Request's token sources, for extraction tests.
type TokenSources = Request

// ExtractToken exposes the extraction rule.
func ExtractToken(s TokenSources) (string, error) { return extractToken(&s) }

// plainVerifier reads the documented sources only.
var plainVerifier = &Verifier{cfg: &config{}}

// SourcesFromRequest reads the documented token sources of r.
func SourcesFromRequest(r *http.Request) TokenSources { return plainVerifier.RequestFromHTTP(r) }

// TokenFromRequest extracts the token of r from the documented sources.
func TokenFromRequest(r *http.Request) (string, error) {
	s := SourcesFromRequest(r)
	return extractToken(&s)
}

// RequestFromHTTP is SourcesFromRequest.
var RequestFromHTTP = SourcesFromRequest
