package core

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// sharedTier is the Verifier's side of a SharedCache: it names the keys,
// seals the values, coordinates replicas (one verification per token across
// the fleet) and carries invalidations between them.
//
// What the store sees about a token:
//
//	{T}:e  the sealed entry          T = hex(SHA-256("lwa/v1/token\x00" || token))
//	{T}:l  a short lock              (one replica asks Amazon)
//	{T}:r  a revocation record       (its expiry, Unix nanoseconds)
//	u:{U}  a customer's revocation   U = hex(SHA-256("lwa/v1/user\x00" || user_id))
//
// An entry is sealed with AES-256-GCM under a key derived from the token
// (HKDF-SHA256, label "lwa/v1/seal"), with its storage key as associated
// data and its own expiry inside: without the token nothing in the store can
// be read or forged, and a TTL changed in the store cannot extend trust. A
// value that fails to open is a miss.
type sharedTier struct {
	v        *Verifier
	c        SharedCache
	stop     func()
	healthy  atomic.Bool
	resets   atomic.Int64
	pollEach time.Duration
}

func newSharedTier(v *Verifier, c SharedCache) *sharedTier {
	s := &sharedTier{v: v, c: c, pollEach: 10 * time.Millisecond}
	s.healthy.Store(true)
	s.stop = c.Subscribe(s.onMessage, s.onReset)
	return s
}

func (s *sharedTier) close() {
	if s.stop != nil {
		s.stop()
	}
}

// tokenTag is the hash tag of every key about one token.
func tokenTag(token string) string {
	h := sha256.Sum256([]byte("lwa/v1/token\x00" + token))
	return "{" + hex.EncodeToString(h[:]) + "}"
}

func userRecordKey(uk userKey) string { return "u:{" + hex.EncodeToString(uk[:]) + "}" }

// record is an entry as sealed in the store.
type record struct {
	Kind      string  `json:"k"` // "v" verified, "r" rejected
	Profile   Profile `json:"p"`
	ClientID  string  `json:"c,omitempty"`
	IssuedAt  int64   `json:"i,omitempty"` // Unix seconds
	ExpiresAt int64   `json:"x"`           // Unix nanoseconds: the token's expiry, or the rejection's
	Trust     int64   `json:"t"`           // Unix nanoseconds: trusted before
	Reject    string  `json:"e,omitempty"` // the rejection's row
}

const sealVersion = 1

func sealAEAD(token string) cipher.AEAD {
	k, err := hkdf.Key(sha256.New, []byte(token), nil, "lwa/v1/seal", 32)
	if err != nil {
		panic(err) // 32 bytes of SHA-256 HKDF cannot fail
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func seal(token, storageKey string, r *record) []byte {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	aead := sealAEAD(token)
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil
	}
	return aead.Seal(out, out[1:], plain, []byte(storageKey))
}

func unseal(token, storageKey string, val []byte) (*record, bool) {
	aead := sealAEAD(token)
	n := aead.NonceSize()
	if len(val) < 1+n || val[0] != sealVersion {
		return nil, false
	}
	plain, err := aead.Open(nil, val[1:1+n], val[1+n:], []byte(storageKey))
	if err != nil {
		return nil, false
	}
	var r record
	if json.Unmarshal(plain, &r) != nil || (r.Kind != "v" && r.Kind != "r") {
		return nil, false
	}
	return &r, true
}

// rejectionKinds name the rows a sealed rejection may carry.
var rejectionKinds = map[string]error{
	"invalid_token": ErrInvalidToken, "insufficient_scope": ErrInsufficientScope, "not_found": ErrNotOurToken,
}

// lookup asks the store about a token the local tier missed. ok reports
// whether it settled the token (an entry or a rejection).
func (s *sharedTier) lookup(f *flight, token, tag string, key cacheKey) (*entry, *Error, bool) {
	vals, err := s.c.Get(f.ctx, tag+":e", tag+":r")
	if err != nil || len(vals) != 2 {
		s.trouble(err)
		s.v.observeLookup(f.ctx, TierShared, LookupMiss)
		return nil, nil, false
	}
	s.fine()
	return s.decide(f, token, key, tag, vals[0], vals[1])
}

// decide turns what the store holds about a token into an answer.
func (s *sharedTier) decide(f *flight, token string, key cacheKey, tag string, val, revoked []byte) (*entry, *Error, bool) {
	ctx, v := f.ctx, s.v
	if len(revoked) == 8 {
		v.revoked.addToken(key, time.Unix(0, int64(binary.BigEndian.Uint64(revoked))))
		v.observeLookup(ctx, TierShared, LookupRejectedHit)
		return nil, errRevoked(), true
	}
	if val == nil {
		v.observeLookup(ctx, TierShared, LookupMiss)
		return nil, nil, false
	}
	r, ok := unseal(token, tag+":e", val)
	now := time.Now().UnixNano()
	if !ok || now >= r.Trust {
		v.observeLookup(ctx, TierShared, LookupMiss)
		return nil, nil, false
	}
	if r.Kind == "r" {
		kind, known := rejectionKinds[r.Reject]
		if !known {
			v.observeLookup(ctx, TierShared, LookupMiss)
			return nil, nil, false
		}
		v.observeLookup(ctx, TierShared, LookupRejectedHit)
		err := newError(kind, descriptionOf(kind), nil)
		v.rememberRejection(f, key, err)
		return nil, err, true
	}
	trust := time.Duration(r.Trust - now)
	if f.refresh && v.cfg.refreshAhead > 0 && float64(trust) < float64(v.cfg.cacheTTL)*v.cfg.refreshAhead {
		v.observeLookup(ctx, TierShared, LookupMiss) // due for a refresh fleet-wide
		return nil, nil, false
	}
	e := &entry{profile: r.Profile, clientID: v.clientID(r.ClientID), issued: r.IssuedAt, expires: r.ExpiresAt / int64(time.Second)}
	if e.clientID == "" { // written by a replica that accepts other client IDs
		v.observeLookup(ctx, TierShared, LookupMiss)
		return nil, nil, false
	}
	if err := s.checkUser(ctx, e); err != nil {
		v.observeLookup(ctx, TierShared, LookupRejectedHit)
		return nil, err, true
	}
	v.setTrust(e, trust, time.Duration(r.ExpiresAt-now))
	v.remember(f, key, e)
	v.observeLookup(ctx, TierShared, LookupHit)
	return e, nil, true
}

// descriptionOf is the fixed description of a remembered rejection.
func descriptionOf(kind error) string {
	switch kind {
	case ErrInsufficientScope:
		return "the access token does not grant the scope this app requires"
	case ErrNotOurToken:
		return "not found"
	}
	return "the access token is expired, revoked, malformed or unknown"
}

// await takes the fleet-wide lock on a token, or waits for the replica that
// holds it to store its answer. ok reports an answer found; held that this
// replica holds the lock and must ask Amazon, then unlock.
func (s *sharedTier) await(ctx context.Context, f *flight, token, tag string, key cacheKey) (e *entry, err *Error, ok, held bool) {
	lock := tag + ":l"
	got, lerr := s.c.SetNX(ctx, lock, []byte{1}, s.v.cfg.timeout)
	if lerr != nil {
		s.trouble(lerr)
		return nil, nil, false, false // ask Amazon ourselves
	}
	if got {
		return nil, nil, false, true
	}
	t := time.NewTicker(s.pollEach)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, nil, false, false
		case <-t.C:
		}
		vals, gerr := s.c.Get(ctx, tag+":e", tag+":r", lock)
		if gerr != nil || len(vals) != 3 {
			s.trouble(gerr)
			return nil, nil, false, false
		}
		if vals[0] != nil || vals[1] != nil {
			if e, err, ok := s.decide(f, token, key, tag, vals[0], vals[1]); ok {
				return e, err, true, false
			}
		}
		if vals[2] == nil { // the holder gave up (or died): take over
			got, lerr = s.c.SetNX(ctx, lock, []byte{1}, s.v.cfg.timeout)
			if lerr != nil || got {
				return nil, nil, false, lerr == nil
			}
		}
	}
}

func (s *sharedTier) unlock(tag string) {
	ctx, cancel := s.bounded()
	defer cancel()
	if err := s.c.Delete(ctx, tag+":l"); err != nil {
		s.trouble(err)
	}
}

// bounded is the context of a write that no request waits for.
func (s *sharedTier) bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.v.cfg.timeout)
}

// store writes a verified entry for the rest of its trust.
func (s *sharedTier) store(ctx context.Context, token, tag string, e *entry) {
	now := time.Now()
	left := time.Until(time.Unix(e.expires, 0))
	if e.expires == 0 {
		left = s.v.cfg.cacheTTL
	}
	trust := min(s.v.cfg.cacheTTL, left)
	if trust <= 0 {
		return
	}
	r := &record{Kind: "v", Profile: e.profile, ClientID: e.clientID, IssuedAt: e.issued,
		ExpiresAt: now.Add(left).UnixNano(), Trust: now.Add(trust).UnixNano()}
	key := tag + ":e"
	if val := seal(token, key, r); val != nil {
		if err := s.c.Set(ctx, key, val, trust); err != nil {
			s.trouble(err)
		}
	}
}

// storeRejection writes one of Amazon's documented rejections for the
// negative cache's TTL.
func (s *sharedTier) storeRejection(ctx context.Context, token, tag string, err *Error) {
	ttl := s.v.cfg.negativeTTL
	if ttl <= 0 {
		return
	}
	now := time.Now()
	r := &record{Kind: "r", Reject: err.Code, ExpiresAt: now.Add(ttl).UnixNano(), Trust: now.Add(ttl).UnixNano()}
	key := tag + ":e"
	if val := seal(token, key, r); val != nil {
		if serr := s.c.Set(ctx, key, val, ttl); serr != nil {
			s.trouble(serr)
		}
	}
}

// checkUser rejects an entry whose customer was revoked after the token was
// issued, by this replica's knowledge or the store's.
func (s *sharedTier) checkUser(ctx context.Context, e *entry) *Error {
	if err := s.v.revoked.check(e); err != nil {
		return err
	}
	uk := userKeyOf(e.profile.UserID)
	vals, err := s.c.Get(ctx, userRecordKey(uk))
	if err != nil || len(vals) != 1 {
		s.trouble(err)
		return nil // what this replica heard is all it knows
	}
	if len(vals[0]) == 8 {
		cutoff := int64(binary.BigEndian.Uint64(vals[0]))
		s.v.revoked.addUser(uk, cutoff)
		if issuedBy(e, cutoff) {
			return errRevoked()
		}
	}
	return nil
}

// Messages between replicas: a type byte, a 32-byte hash, 8 bytes of time.
const (
	msgForget     = 'f' // the local key of a forgotten token
	msgRevoke     = 'r' // the local key of a revoked token, its expiry
	msgRevokeUser = 'u' // a customer's user key, the cutoff
	msgLen        = 1 + sha256.Size + 8
)

func message(kind byte, hash [sha256.Size]byte, t int64) []byte {
	m := make([]byte, msgLen)
	m[0] = kind
	copy(m[1:], hash[:])
	binary.BigEndian.PutUint64(m[1+sha256.Size:], uint64(t))
	return m
}

func (s *sharedTier) onMessage(m []byte) {
	if len(m) != msgLen {
		return
	}
	var h [sha256.Size]byte
	copy(h[:], m[1:])
	t := int64(binary.BigEndian.Uint64(m[1+sha256.Size:]))
	switch m[0] {
	case msgForget:
		s.v.forgetLocal(h)
	case msgRevoke:
		s.v.revoked.addToken(h, time.Unix(0, t))
		s.v.forgetLocal(h)
	case msgRevokeUser:
		s.v.revoked.addUser(h, t)
		s.v.dropUser(h, t)
	}
}

// onReset drops the local tier: invalidations may have been missed while
// the subscription was down.
func (s *sharedTier) onReset() {
	if s.resets.Add(1) > 1 {
		s.v.log.LogAttrs(context.Background(), slog.LevelWarn,
			"lwa: shared cache subscription re-established; dropping the local tier, which may have missed invalidations")
	}
	s.v.cache.clear()
}

// forget drops a token from the store and tells every replica.
func (s *sharedTier) forget(token string, key cacheKey) {
	ctx, cancel := s.bounded()
	defer cancel()
	err := errors.Join(s.c.Delete(ctx, tokenTag(token)+":e"), s.c.Publish(ctx, message(msgForget, key, 0)))
	if err != nil {
		s.trouble(err)
	}
}

func (s *sharedTier) revoke(ctx context.Context, token string, key cacheKey, until time.Time) error {
	tag := tokenTag(token)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(until.UnixNano()))
	ttl := max(time.Until(until), time.Second)
	err := errors.Join(
		s.c.Set(ctx, tag+":r", b[:], ttl),
		s.c.Delete(ctx, tag+":e"),
		s.c.Publish(ctx, message(msgRevoke, key, until.UnixNano())),
	)
	if err != nil {
		s.trouble(err)
		return newError(ErrUpstream, "the revocation did not reach the shared cache; other replicas may still accept the token", err)
	}
	return nil
}

func (s *sharedTier) revokeUser(ctx context.Context, uk userKey, cutoff int64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(cutoff))
	err := errors.Join(
		s.c.Set(ctx, userRecordKey(uk), b[:], maxTokenLifetime+time.Minute),
		s.c.Publish(ctx, message(msgRevokeUser, uk, cutoff)),
	)
	if err != nil {
		s.trouble(err)
		return newError(ErrUpstream, "the revocation did not reach the shared cache; other replicas may still accept the customer's tokens", err)
	}
	return nil
}

// trouble logs the shared cache going bad, once per change of state.
func (s *sharedTier) trouble(err error) {
	if err == nil {
		err = errors.New("unexpected answer")
	}
	if s.healthy.CompareAndSwap(true, false) {
		s.v.log.LogAttrs(context.Background(), slog.LevelWarn,
			"lwa: shared cache unavailable; verifying with the local tier and Amazon", slog.String("error", err.Error()))
	}
}

// fine logs the shared cache coming back, once.
func (s *sharedTier) fine() {
	if s.healthy.CompareAndSwap(false, true) {
		s.v.log.LogAttrs(context.Background(), slog.LevelWarn, "lwa: shared cache available again")
	}
}
