package core

import (
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
