package core

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"

	"github.com/go-lwa/lwa/core/observe"
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
	profile    Profile
	clientID   string // tokeninfo's aud; the Verifier's own string when it is one of its client IDs
	appID      string // tokeninfo's app_id; "" when Amazon did not say
	issued     int64  // tokeninfo's iat, Unix seconds; 0 when Amazon did not say
	expires    int64  // when the token expires at Amazon, Unix seconds; 0: never within any cache's life
	nextOfUser *entry // the next entry of the same customers (userIndex), guarded by its lock

	key        cacheKey      // its key: the index finds entries by its first 8 bytes
	ttl        time.Duration // how long it was trusted for when stored
	trustUntil int64         // served as verified before this instant
	refreshAt  int64         // re-verified in the background when used after this instant (0: never)
	keepUntil  int64         // kept this long for stale-if-error; never past the token's expiry
	refreshing atomic.Bool
}

// userKey returns the key of the entry's customer.
func (e *entry) userKey() userKey { return userKeyOf(e.profile.UserID) }

// info returns the token's details.
func (e *entry) info() TokenInfo {
	t := TokenInfo{ClientID: e.clientID, AppID: e.appID}
	if e.issued != 0 {
		t.IssuedAt = time.Unix(e.issued, 0)
	}
	if e.expires != 0 {
		t.ExpiresAt = time.Unix(e.expires, 0)
	}
	return t
}

// rejection is one token Amazon turned down, answered from memory for a
// short while.
type rejection struct {
	err *Error
}

// caches holds the local tier: the positive and negative caches; either may
// be nil when its TTL is zero. The positive cache is otter (W-TinyLFU
// eviction, expiry, the size bound) with a read-mostly index in front of it
// (hot) that answers hits: otter's own read path, with its access buffer and
// entry copy, costs a third of a cached verification; the index costs a map
// lookup under a read lock. Otter keeps the index in step through its
// deletion handler, and a sample of the hits is still recorded in otter so
// that eviction keeps seeing which tokens are hot.
type caches struct {
	hot    hotIndex
	users  userIndex // the keys of each customer's entries, for RevokeUser
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
			OnAtomicDeletion: func(d otter.DeletionEvent[cacheKey, *entry]) {
				cs.hot.drop(d.Key, d.Value)
				cs.users.remove(d.Value)
			},
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

// accessSample is how often hits are recorded in otter's eviction policy:
// during one clock tick (10 ms) in accessSample, a different tick for each
// key. Tokens in steady use are still seen, and W-TinyLFU still keeps them
// over a flood of new ones; recording every hit would cost a sixth of a
// cached verification.
const accessSample = 16

// get returns the entry of key while it may be trusted, and whether it is
// due for a refresh ahead of its expiry.
func (cs *caches) get(key cacheKey) (e *entry, refresh, ok bool) {
	e = cs.hot.get(key)
	if e == nil {
		return nil, false, false
	}
	now := cs.now()
	if now >= e.trustUntil {
		return nil, false, false
	}
	// Record the access in otter for one tick of the clock in accessSample,
	// which tick depending on the key: a sample without a random draw.
	if (uint64(now)/uint64(clockResolution)+uint64(key[1]))%accessSample == 0 {
		cs.ok.GetIfPresent(key) // the access, for eviction
	}
	return e, e.refreshAt != 0 && now >= e.refreshAt, true
}

// stale returns the entry of key kept past its trust for stale-if-error.
func (cs *caches) stale(key cacheKey) (*entry, bool) {
	e := cs.hot.get(key)
	if e == nil || cs.now() >= e.keepUntil {
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
	if cs.ok == nil || e.keepUntil <= cs.now() {
		return
	}
	e.key = key
	cs.users.add(e)
	cs.ok.Set(key, e)
	cs.hot.put(key, e)
	// Otter may have turned e away (admission) or evicted it already, its
	// deletion handler running before the put: the indexes follow otter.
	if v, ok := cs.ok.GetEntryQuietly(key); !ok || v.Value != e {
		cs.hot.drop(key, e)
		cs.users.remove(e)
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
	cs.hot.drop(key, nil)
}

func (cs *caches) forget(key cacheKey) {
	cs.dropVerified(key)
	if cs.bad != nil {
		cs.bad.Invalidate(key)
	}
}

// forgetUser drops the entries of the customer uk whose tokens were issued
// at or before cutoff (RevokeUser), and returns them: it touches that
// customer's entries only.
func (cs *caches) forgetUser(uk userKey, cutoff int64) []*entry {
	var dropped []*entry
	for _, e := range cs.users.entries(uk) {
		if issuedBy(e, cutoff) {
			if cs.ok != nil {
				cs.ok.Invalidate(e.key)
			}
			cs.hot.drop(e.key, e)
			cs.users.remove(e)
			dropped = append(dropped, e)
		}
	}
	return dropped
}

// clear drops every entry (a shared tier's subscription was lost).
func (cs *caches) clear() {
	if cs.ok != nil {
		cs.ok.InvalidateAll()
	}
	cs.hot.clear()
	cs.users.clear()
	if cs.bad != nil {
		cs.bad.InvalidateAll()
	}
}

// stats reports the sizes of both caches.
func (cs *caches) stats() observe.Stats {
	var s observe.Stats
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

// hotIndex maps keys to the entries otter holds, for reads: 64 shards, each
// a map under a read-write lock, keyed by 8 bytes of the key (a SHA-256 sum:
// uniformly random), the entry holding the whole key. Two keys that share
// those 8 bytes (one chance in 2^64 per pair) only evict each other from the
// index.
type hotIndex struct {
	shards [64]hotShard
}

type hotShard struct {
	mu sync.RWMutex
	m  map[uint64]*entry
	_  [40]byte // one shard per cache line
}

// locate picks k's shard (its first byte) and its map key (bytes 8 to 15).
func (h *hotIndex) locate(k *cacheKey) (*hotShard, uint64) {
	return &h.shards[k[0]&63], binary.LittleEndian.Uint64(k[8:16])
}

func (h *hotIndex) get(k cacheKey) *entry {
	s, ik := h.locate(&k)
	s.mu.RLock()
	e := s.m[ik]
	s.mu.RUnlock()
	if e == nil || e.key != k {
		return nil
	}
	return e
}

func (h *hotIndex) put(k cacheKey, e *entry) {
	s, ik := h.locate(&k)
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[uint64]*entry)
	}
	s.m[ik] = e
	s.mu.Unlock()
}

// drop removes k, only while it maps to e when e is not nil.
func (h *hotIndex) drop(k cacheKey, e *entry) {
	s, ik := h.locate(&k)
	s.mu.Lock()
	if cur, ok := s.m[ik]; ok && cur.key == k && (e == nil || cur == e) {
		delete(s.m, ik)
	}
	s.mu.Unlock()
}

func (h *hotIndex) clear() {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// userIndex links each customer's entries in the local tier, so that
// RevokeUser costs in proportion to that customer's entries, not to the
// cache. It maps 8 bytes of the user key (uniformly random, a SHA-256 sum)
// to a list threaded through the entries themselves (a customer has few
// tokens at once): about 30 bytes per cached token. Customers that share
// those 8 bytes share a list; entries checks the whole key.
type userIndex struct {
	mu sync.Mutex
	m  map[uint64]*entry
}

func userSlot(e *entry) uint64 {
	uk := e.userKey()
	return binary.LittleEndian.Uint64(uk[:8])
}

func (u *userIndex) add(e *entry) {
	k := userSlot(e)
	u.mu.Lock()
	if u.m == nil {
		u.m = make(map[uint64]*entry)
	}
	e.nextOfUser = u.m[k]
	u.m[k] = e
	u.mu.Unlock()
}

func (u *userIndex) remove(e *entry) {
	k := userSlot(e)
	u.mu.Lock()
	for p := u.m[k]; p != nil; p = p.nextOfUser {
		if p == e {
			u.m[k] = e.nextOfUser
			break
		}
		if p.nextOfUser == e {
			p.nextOfUser = e.nextOfUser
			break
		}
	}
	if u.m[k] == nil {
		delete(u.m, k)
	}
	u.mu.Unlock()
}

func (u *userIndex) entries(uk userKey) []*entry {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*entry
	for e := u.m[binary.LittleEndian.Uint64(uk[:8])]; e != nil; e = e.nextOfUser {
		if e.userKey() == uk {
			out = append(out, e)
		}
	}
	return out
}

func (u *userIndex) clear() {
	u.mu.Lock()
	clear(u.m)
	u.mu.Unlock()
}
