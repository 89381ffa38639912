package core

import (
	"crypto/sha256"
	"sync/atomic"
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

// entry is one verified token: its profile and details (shared, never
// modified) and, on the cache's clock, until when it may be trusted.
type entry struct {
	profile Profile
	info    TokenInfo

	ttl        time.Duration // how long it was trusted for when stored
	trustUntil int64         // served as verified before this instant
	refreshAt  int64         // re-verified in the background when used after this instant (0: never)
	keepUntil  int64         // kept this long for stale-if-error; never past the token's expiry
	refreshing atomic.Bool
}

// rejection is one token Amazon turned down, answered from memory for a
// short while.
type rejection struct {
	err *Error
}

// caches holds the local tier: the positive and negative caches; either may
// be nil when its TTL is zero.
type caches struct {
	ok     *otter.Cache[cacheKey, *entry]
	bad    *otter.Cache[cacheKey, rejection]
	coarse *otter.CoarseClock // nil with a test clock
	now    func() int64       // the clock both caches use
}

// clockResolution is how often the caches' clock reads the time. Reading the
// precise time on every cache hit costs about a twentieth of a cached
// verification; a coarse clock costs a variable read, and entries are
// trusted for one resolution less than their TTL, so that a token is still
// never trusted beyond its own lifetime.
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
		cs.now = c.nowNano
	} else {
		cs.coarse = otter.NewCoarseClock(clockResolution)
		clk = cs.coarse
		cs.now = cs.coarse.NowNano
	}
	if c.cacheTTL > 0 {
		ok, err := otter.New(&otter.Options[cacheKey, *entry]{
			MaximumSize: c.cacheSize,
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[cacheKey, *entry]) time.Duration {
				return time.Duration(e.Value.keepUntil - cs.now())
			}),
			Clock:    clk,
			Executor: inline,
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
			Executor:         inline,
		})
		if err != nil {
			return nil, err
		}
		cs.bad = bad
	}
	return cs, nil
}

// get returns the entry of key while it may be trusted.
func (cs *caches) get(key cacheKey) (*entry, bool) {
	if cs.ok == nil {
		return nil, false
	}
	e, ok := cs.ok.GetIfPresent(key)
	if !ok || cs.now() >= e.trustUntil {
		return nil, false
	}
	return e, true
}

// stale returns the entry of key kept past its trust for stale-if-error.
func (cs *caches) stale(key cacheKey) (*entry, bool) {
	if cs.ok == nil {
		return nil, false
	}
	e, ok := cs.ok.GetIfPresent(key)
	if !ok || cs.now() >= e.keepUntil {
		return nil, false
	}
	return e, true
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

// remember stores e; its instants must already be set on the cache's clock.
func (cs *caches) remember(key cacheKey, e *entry) {
	if cs.ok != nil && e.keepUntil > cs.now() {
		cs.ok.Set(key, e)
	}
}

func (cs *caches) rememberRejection(key cacheKey, err *Error) {
	if cs.bad != nil {
		cs.bad.Set(key, rejection{err})
	}
}

// dropVerified drops the verified entry of key, if any.
func (cs *caches) dropVerified(key cacheKey) {
	if cs.ok != nil {
		cs.ok.Invalidate(key)
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

// forgetUser drops every entry of userID that match (RevokeUser).
func (cs *caches) forgetUser(match func(*entry) bool) {
	if cs.ok == nil {
		return
	}
	for k, e := range cs.ok.All() {
		if match(e) {
			cs.ok.Invalidate(k)
		}
	}
}

// clear drops every entry (a shared tier's subscription was lost).
func (cs *caches) clear() {
	if cs.ok != nil {
		cs.ok.InvalidateAll()
	}
	if cs.bad != nil {
		cs.bad.InvalidateAll()
	}
}

// stats reports the sizes of both caches.
func (cs *caches) stats() CacheStats {
	var s CacheStats
	if cs.ok != nil {
		s.Verified = cs.ok.EstimatedSize()
	}
	if cs.bad != nil {
		s.Rejected = cs.bad.EstimatedSize()
	}
	return s
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
