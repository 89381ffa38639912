package core

import (
	"crypto/sha256"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
)

// cacheKey is the SHA-256 of a token: the raw token is never stored.
type cacheKey = [sha256.Size]byte

// keyOf hashes token without copying it: the bytes are only read.
func keyOf(token string) cacheKey {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// entry is one verified token: its profile (shared, never modified) and how
// long it may be trusted.
type entry struct {
	profile Profile
	ttl     time.Duration
}

// rejection is one token Amazon turned down, answered from memory for a
// short while.
type rejection struct {
	err *Error
}

// caches holds the positive and negative caches; either may be nil when its
// TTL is zero.
type caches struct {
	ok     *otter.Cache[cacheKey, *entry]
	bad    *otter.Cache[cacheKey, rejection]
	coarse *otter.CoarseClock // nil with a test clock
}

// clockResolution is how often the caches' clock reads the time. Reading the
// precise time on every cache hit costs about a twentieth of a cached
// verification; a coarse clock costs a variable read, and entries are stored
// for one resolution less than their TTL, so that a token is still never
// trusted beyond its own lifetime.
const clockResolution = 10 * time.Millisecond

// maxRejections bounds the negative cache: a flood of distinct junk tokens
// can evict rejections, never verified profiles.
const maxRejections = 10_000

// clock adapts a test clock to otter's.
type clock struct{ now func() int64 }

func (c clock) NowNano() int64                        { return c.now() }
func (c clock) Tick(d time.Duration) <-chan time.Time { return time.Tick(d) }

// inline runs the caches' maintenance (draining their read buffers into the
// eviction policy) on the goroutine that triggered it. Otter's default starts
// a goroutine each time, which on the cached path costs more than the
// maintenance itself: a goroutine start and a thread wake-up every few dozen
// reads.
func inline(fn func()) { fn() }

func newCaches(c *config) (*caches, error) {
	cs := &caches{}
	var clk otter.Clock
	if c.nowNano != nil {
		clk = clock{c.nowNano}
	} else if c.cacheTTL > 0 || c.negativeTTL > 0 {
		cs.coarse = otter.NewCoarseClock(clockResolution)
		clk = cs.coarse
	}
	if c.cacheTTL > 0 {
		ok, err := otter.New(&otter.Options[cacheKey, *entry]{
			MaximumSize: c.cacheSize,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[cacheKey, *entry]) time.Duration {
				return e.Value.ttl
			}),
			Clock: clk,
		})
		if err != nil {
			return nil, err
		}
		cs.ok = ok
	}
	if c.negativeTTL > 0 {
		bad, err := otter.New(&otter.Options[cacheKey, rejection]{
			MaximumSize:      min(c.cacheSize, maxRejections),
			ExpiryCalculator: otter.ExpiryWriting[cacheKey, rejection](c.negativeTTL),
			Clock:            clk,
		})
		if err != nil {
			return nil, err
		}
		cs.bad = bad
	}
	return cs, nil
}

// get returns the cached profile of key.
func (cs *caches) get(key cacheKey) (*Profile, bool) {
	if cs.ok == nil {
		return nil, false
	}
	e, ok := cs.ok.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	return &e.profile, true
}

// rejected returns the cached rejection of key.
func (cs *caches) rejected(key cacheKey) (*Error, bool) {
	if cs.bad == nil {
		return nil, false
	}
	r, ok := cs.bad.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	c := *r.err // callers may not share one mutable *Error
	return &c, true
}

func (cs *caches) remember(key cacheKey, e *entry) {
	if cs.coarse != nil {
		e.ttl -= clockResolution
	}
	if cs.ok != nil && e.ttl > 0 {
		cs.ok.Set(key, e)
	}
}

func (cs *caches) rememberRejection(key cacheKey, err *Error) {
	if cs.bad != nil {
		cs.bad.Set(key, rejection{err})
	}
}

func (cs *caches) forget(key cacheKey) {
	if cs.ok != nil {
		cs.ok.Invalidate(key)
	}
	if cs.bad != nil {
		cs.bad.Invalidate(key)
	}
}

func (cs *caches) close() {
	if cs.ok != nil {
		cs.ok.StopAllGoroutines()
	}
	if cs.bad != nil {
		cs.bad.StopAllGoroutines()
	}
	if cs.coarse != nil {
		cs.coarse.Stop()
	}
}
