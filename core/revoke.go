package core

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// maxTokenLifetime is how long an LWA access token lives at most: a revoked
// token or user is remembered this long.
const maxTokenLifetime = time.Hour

// userKey is the domain-separated SHA-256 of a customer's user_id: what
// revocation records and messages hold instead of the user_id.
type userKey = [sha256.Size]byte

func userKeyOf(userID string) userKey {
	return sha256.Sum256([]byte("lwa/v1/user\x00" + userID))
}

// revocations are the tokens and customers this server stopped accepting.
// The cached path never looks at them: Revoke and RevokeUser drop the local
// entries they concern, and every verification that fills a cache is
// checked against them.
type revocations struct {
	n      atomic.Int32 // entries in both maps: none costs one load
	mu     sync.Mutex
	tokens map[cacheKey]int64 // until, Unix nanoseconds
	users  map[userKey]int64  // tokens issued at or before this Unix second are rejected
	pruned int64              // last prune, Unix nanoseconds
}

func newRevocations() *revocations {
	return &revocations{tokens: make(map[cacheKey]int64), users: make(map[userKey]int64)}
}

// token reports whether key is a revoked token.
func (r *revocations) token(key cacheKey) bool {
	if r.n.Load() == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.tokens[key]
	return ok && time.Now().UnixNano() < until
}

func (r *revocations) addToken(key cacheKey, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.tokens[key]; !ok || old < until.UnixNano() {
		r.tokens[key] = until.UnixNano()
	}
	r.pruneLocked()
}

func (r *revocations) addUser(uk userKey, cutoff int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.users[uk]; !ok || old < cutoff {
		r.users[uk] = cutoff
	}
	r.pruneLocked()
}

// userCutoff returns the revocation cutoff of a customer, if any.
func (r *revocations) userCutoff(uk userKey) (int64, bool) {
	if r.n.Load() == 0 {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.users[uk]
	return c, ok
}

// check rejects a freshly verified entry whose customer was revoked after
// the token was issued.
func (r *revocations) check(e *entry) *Error {
	if c, ok := r.userCutoff(e.userKey()); ok && issuedBy(e, c) {
		return errRevoked()
	}
	return nil
}

// issuedBy reports whether e's token was issued at or before the Unix
// second cutoff. A token whose issue time Amazon did not give is assumed
// issued before: fail closed.
func issuedBy(e *entry, cutoff int64) bool {
	return e.issued == 0 || e.issued <= cutoff
}

// pruneLocked drops what can no longer matter, at most once a minute.
func (r *revocations) pruneLocked() {
	now := time.Now().UnixNano()
	if now-r.pruned > int64(time.Minute) {
		r.pruned = now
		for k, until := range r.tokens {
			if until <= now {
				delete(r.tokens, k)
			}
		}
		for k, cutoff := range r.users {
			if time.Unix(cutoff, 0).Add(maxTokenLifetime+time.Minute).UnixNano() <= now {
				delete(r.users, k)
			}
		}
	}
	r.n.Store(int32(len(r.tokens) + len(r.users)))
}

// normalizeToken applies extraction's normalisation to a token given by
// the app: spaces trimmed, an optional "Bearer " scheme dropped, decoded
// once when percent-encoded.
func normalizeToken(token string) string {
	t := strings.TrimSpace(token)
	if scheme, rest, ok := strings.Cut(t, " "); ok && strings.EqualFold(scheme, "Bearer") {
		t = strings.TrimSpace(rest)
	}
	if d, err := decodeOnce(t); err == nil {
		t = d
	}
	return t
}

// revocationSkew is how long after a RevokeUser call a token's iat (read on
// Amazon's clock) may be and still be rejected: clocks differ.
const revocationSkew = 2 * time.Second

// Forget drops token from every cache tier: its next use, on any replica
// sharing this Verifier's SharedCache, asks Amazon again. It is not a
// logout: the token still verifies at Amazon until it expires (use Revoke
// to stop accepting it). Forget concerns this one token only. Once it
// returns, no verification of the token that was under way caches its
// answer, on this replica or (through the shared tier) on another: a later
// use asks Amazon. token is taken as the client sent it: trimmed, an
// optional "Bearer " scheme dropped, and decoded once when percent-encoded
// ("Atza%7C…" forgets "Atza|…").
func (v *Verifier) Forget(token string) {
	t := normalizeToken(token)
	key := keyOf(t)
	v.forgetLocal(key, false)
	v.observeRevocation(observe.RevokeForget, 0, false)
	if v.shared != nil {
		v.shared.forget(t, key)
	}
}

// forgetLocal drops key from the local tier and detaches any verification
// of it under way: its answer will not be cached (and, when revoked, not
// handed to its callers either), and later callers start a new one.
func (v *Verifier) forgetLocal(key cacheKey, revoked bool) {
	v.revMu.Lock()
	defer v.revMu.Unlock()
	v.detachLocked(key, revoked)
	v.cache.forget(key)
}

// detachLocked marks the flight of key forgotten (and revoked) and takes it
// out of the flights map; v.revMu is held.
func (v *Verifier) detachLocked(key cacheKey, revoked bool) {
	v.mu.Lock()
	if f := v.flights[key]; f != nil {
		f.forgotten.Store(true)
		if revoked {
			f.revoked.Store(true)
		}
		delete(v.flights, key)
	}
	v.mu.Unlock()
}

// Revoke makes this server stop accepting token, on every replica that
// shares its SharedCache, until it would have expired at Amazon: a revoked
// token is answered 400 invalid_token (ErrInvalidToken). LWA has no
// revocation endpoint for access tokens, so this is how "sign out" ends a
// token's use here. token is taken as the client sent it (trimmed, an
// optional "Bearer " scheme dropped, percent-decoded once, as extraction
// does); an adapter's Token gives it.
//
// It takes effect on this replica before it returns: no request that
// starts afterwards is accepted with the token, and no verification under
// way, refresh ahead of expiry or stale-if-error answer brings it back. It
// returns an error when the revocation could not be stored in or published
// through the shared cache: the other replicas may not have heard it.
func (v *Verifier) Revoke(ctx context.Context, token string) error {
	t := normalizeToken(token)
	if t == "" {
		return newError(ErrMissingToken, "no access token to revoke", nil)
	}
	key := keyOf(t)
	until := time.Now().Add(maxTokenLifetime)
	if e, ok := v.cache.stale(key); ok && e.expires != 0 {
		until = time.Unix(e.expires, 0)
	}
	v.revokeLocal(key, until)
	v.observeRevocation(observe.RevokeToken, 0, false)
	if v.shared != nil {
		return v.shared.revoke(ctx, t, key, until)
	}
	return nil
}

// revokeLocal applies a token's revocation on this replica.
func (v *Verifier) revokeLocal(key cacheKey, until time.Time) {
	v.revMu.Lock()
	defer v.revMu.Unlock()
	v.revoked.addToken(key, until)
	v.detachLocked(key, true)
	v.cache.forget(key)
}

// RevokeUser makes this server reject every token of the customer userID
// issued before the call, on every replica that shares its SharedCache;
// tokens issued later are accepted. It is "sign out everywhere", a ban, or
// the answer to a password change on the app's side. Issue times are
// tokeninfo's iat, whole seconds on Amazon's clock: to allow for clocks
// that differ, a token issued up to 2 s after the call is rejected too, and
// a token whose issue time Amazon did not give is rejected.
//
// It takes effect on this replica before it returns (no verification under
// way brings such a token back) and touches only that customer's entries.
// It returns an error when the revocation could not be stored in or
// published through the shared cache.
func (v *Verifier) RevokeUser(ctx context.Context, userID string) error {
	if userID == "" {
		return newError(ErrMalformedToken, "no user ID to revoke", nil)
	}
	cutoff := v.wallNow().Add(revocationSkew + time.Second - 1).Unix() // rounded up
	uk := userKeyOf(userID)
	v.revokeUserLocal(uk, cutoff)
	v.observeRevocation(observe.RevokeUser, 0, false)
	if v.shared != nil {
		return v.shared.revokeUser(ctx, uk, cutoff)
	}
	return nil
}

// revokeUserLocal applies a customer's revocation on this replica.
func (v *Verifier) revokeUserLocal(uk userKey, cutoff int64) {
	v.revMu.Lock()
	defer v.revMu.Unlock()
	v.revoked.addUser(uk, cutoff)
	// The tokens it drops are remembered as revoked: a later use is
	// answered at once, without Amazon (or stale-if-error) deciding.
	for _, e := range v.cache.forgetUser(uk, cutoff) {
		until := time.Now().Add(maxTokenLifetime)
		if e.expires != 0 {
			until = time.Unix(e.expires, 0)
		}
		v.revoked.addToken(e.key, until)
	}
}

func (v *Verifier) observeRevocation(k observe.RevocationKind, lag time.Duration, received bool) {
	if v.obs != nil {
		v.obs.Revocation(context.Background(), observe.RevocationEvent{Kind: k, Received: received, Lag: lag})
	}
}

// wallNow is the time on the Verifier's clock (lwatest's), else the system's.
func (v *Verifier) wallNow() time.Time {
	if v.cfg.clock != nil {
		return v.cfg.clock()
	}
	return time.Now()
}
