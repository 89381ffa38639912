package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// sharedTier is the Verifier's side of a SharedCache: it names the keys,
// seals and signs the values (seal.go), coordinates replicas (one
// verification per token across the fleet) and carries invalidations
// between them.
//
// What the store sees about a token:
//
//	{T}:e  Amazon's facts, sealed    T = hex(SHA-256("lwa/v2/token\x00" || token))
//	{T}:l  a short lock              (one replica asks Amazon)
//	{T}:r  a revocation record       (signed: until when)
//	{T}:f  a forget tombstone        (signed: a random generation)
//	u:{U}  a customer's revocation   (signed: the cutoff) U = hex(SHA-256("lwa/v1/user\x00" || user_id))
//
// A lookup is one round trip (e, r and f share the {T} hash tag). A
// customer's revocation record is read too while this replica may have
// missed one (less than a token's lifetime since its subscription was
// last established); afterwards every revocation that can still matter
// reached it as a message.
//
// Redis trouble costs a verification at most one call's timeout: after a
// failed call the tier is skipped (a miss; writes dropped) until a probe in
// the background succeeds. Revocations are always attempted.
type sharedTier struct {
	v      *Verifier
	c      SharedCache
	keys   *fleetKeys
	stop   func()
	id     uint64 // this replica, in its messages
	resets atomic.Int64

	syncedSince  atomic.Int64 // when the subscription was last established, Unix ns; 0: never
	backoffUntil atomic.Int64 // Unix ns; 0: healthy
	probing      atomic.Bool
	probeWG      sync.WaitGroup
	pollEach     time.Duration
}

// Backoff of the shared tier after a failure: the first probe after
// backoffMin, then doubling up to backoffMax.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 30 * time.Second
)

func newSharedTier(v *Verifier, c SharedCache, keys [][]byte) *sharedTier {
	s := &sharedTier{v: v, c: c, keys: newFleetKeys(keys), pollEach: 10 * time.Millisecond}
	var id [8]byte
	_, _ = rand.Read(id[:])
	s.id = binary.BigEndian.Uint64(id[:])
	s.stop = c.Subscribe(s.onMessage, s.onReset)
	return s
}

func (s *sharedTier) close() {
	if s.stop != nil {
		s.stop()
	}
	s.probeWG.Wait()
}

// tokenTag is the hash tag of every key about one token.
func tokenTag(token string) string {
	h := sha256.Sum256([]byte("lwa/v2/token\x00" + token))
	return "{" + hex.EncodeToString(h[:]) + "}"
}

func userRecordKey(uk userKey) string { return "u:{" + hex.EncodeToString(uk[:]) + "}" }

// errSkipped is a call not made: the tier is in its backoff.
var errSkipped = errors.New("lwa: shared cache skipped after a failure")

// state is the tier's health for the Observer.
func (s *sharedTier) state() observe.SharedState {
	if s.backoffUntil.Load() != 0 {
		return observe.SharedBackoff
	}
	return observe.SharedHealthy
}

// do makes one call to the store unless the tier is in its backoff (force
// makes it anyway), and reports it.
func (s *sharedTier) do(ctx context.Context, op observe.SharedOp, force bool, call func() error) error {
	if !force && s.backoffUntil.Load() != 0 {
		s.observeCall(ctx, op, observe.SharedSkipped, 0)
		return errSkipped
	}
	start := time.Now()
	err := call()
	outcome := observe.SharedOK
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller left (its own context ended): not Redis's failure.
		outcome = observe.SharedError
	case err != nil:
		outcome = observe.SharedError
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			outcome = observe.SharedTimeout
		}
		s.trouble(err)
	case force:
		s.fine()
	}
	s.observeCall(ctx, op, outcome, time.Since(start))
	return err
}

func (s *sharedTier) observeCall(ctx context.Context, op observe.SharedOp, o observe.SharedOutcome, d time.Duration) {
	if s.v.obs != nil {
		s.v.obs.SharedCall(ctx, observe.SharedCallEvent{Op: op, Outcome: o, Duration: d})
	}
}

func (s *sharedTier) get(ctx context.Context, keys ...string) ([][]byte, error) {
	var vals [][]byte
	err := s.do(ctx, observe.SharedGet, false, func() error {
		var err error
		vals, err = s.c.Get(ctx, keys...)
		if err == nil && len(vals) != len(keys) {
			err = errors.New("lwa: shared cache answered the wrong number of values")
		}
		return err
	})
	return vals, err
}

// forged reports a value or message that does not authenticate.
func (s *sharedTier) forged(ctx context.Context, o opened, f observe.Forgery) {
	if s.v.obs != nil {
		if o == openUnreadable {
			f = observe.Unreadable
		}
		s.v.obs.SharedForgery(ctx, f)
	}
}

// trouble enters the backoff after a failed call, logging the change once,
// and starts the background probe.
func (s *sharedTier) trouble(err error) {
	until := time.Now().Add(backoffMin).UnixNano()
	if s.backoffUntil.CompareAndSwap(0, until) {
		s.v.log.LogAttrs(context.Background(), slog.LevelWarn,
			"lwa: shared cache unavailable; verifying with the local tier and Amazon until it answers again",
			slog.String("error", err.Error()))
	}
	if s.probing.CompareAndSwap(false, true) {
		s.probeWG.Add(1)
		go s.probe()
	}
}

// fine leaves the backoff, logging the change once.
func (s *sharedTier) fine() {
	if s.backoffUntil.Swap(0) != 0 {
		s.v.log.LogAttrs(context.Background(), slog.LevelWarn, "lwa: shared cache available again")
	}
}

// probe asks the store, in the background, until it answers: then the tier
// is used again.
func (s *sharedTier) probe() {
	defer s.probeWG.Done()
	defer s.probing.Store(false)
	wait := backoffMin
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-s.v.closing:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.v.cfg.timeout)
		_, err := s.c.Get(ctx, "lwa:probe")
		cancel()
		if err == nil {
			s.fine()
			return
		}
		wait = min(2*wait, backoffMax)
		s.backoffUntil.Store(time.Now().Add(wait).UnixNano())
		t.Reset(wait)
	}
}

// complete reports whether this replica heard every customer revocation
// that can still matter: it has been subscribed without a break for longer
// than a token lives (plus the skew margin and a minute).
func (s *sharedTier) complete() bool {
	since := s.syncedSince.Load()
	return since != 0 && s.v.wallNow().Sub(time.Unix(0, since)) > maxTokenLifetime+revocationSkew+time.Minute
}

// tag returns the flight's token's hash tag, computed once.
func (f *flight) tag() string {
	if f.storeTag == "" {
		f.storeTag = tokenTag(f.token)
	}
	return f.storeTag
}

// lookup asks the store about a token the local tier missed. ok reports
// whether it settled the token (an entry or a rejection).
func (s *sharedTier) lookup(ctx context.Context, f *flight) (*entry, *Error, bool) {
	tag := f.tag()
	vals, err := s.get(ctx, tag+":e", tag+":r", tag+":f")
	if err != nil {
		s.v.observeLookup(f.ctx, observe.TierShared, observe.LookupMiss)
		return nil, nil, false
	}
	f.gen, f.known = s.generation(f, vals[2]), true
	return s.decide(f, vals[0], vals[1], vals[2])
}

// generation reads a forget tombstone: its generation, 0 for none (or one
// that does not authenticate: whoever can write can delete).
func (s *sharedTier) generation(f *flight, tomb []byte) int64 {
	if tomb == nil {
		return 0
	}
	gen, _, o := s.keys.openInstant(f.tag()+":f", tomb)
	if o != openOK {
		s.forged(f.ctx, o, observe.ForgedValue)
		return 0
	}
	return gen
}

// decide turns what the store holds about a token (its entry, revocation
// record and forget tombstone) into this Verifier's answer.
func (s *sharedTier) decide(f *flight, val, revoked, forgotten []byte) (*entry, *Error, bool) {
	ctx, v, tag := f.ctx, s.v, f.tag()
	now := time.Now().UnixNano()
	miss := func() (*entry, *Error, bool) {
		v.observeLookup(ctx, observe.TierShared, observe.LookupMiss)
		return nil, nil, false
	}
	rejected := func(err *Error) (*entry, *Error, bool) {
		v.observeLookup(ctx, observe.TierShared, observe.LookupRejectedHit)
		return nil, err, true
	}
	if revoked != nil {
		until, _, o := s.keys.openInstant(tag+":r", revoked)
		if o != openOK {
			s.forged(ctx, o, observe.ForgedValue) // ignored: whoever can write can delete
		} else if now < until {
			v.revokeLocal(f.key, time.Unix(0, until))
			return rejected(errRevoked())
		}
	}
	if val == nil {
		return miss()
	}
	r, o := s.keys.open(f.token, tag+":e", val)
	if o != openOK {
		s.forged(ctx, o, observe.ForgedValue)
		return miss()
	}
	if r.Gen != s.generation(f, forgotten) {
		return miss() // written by a verification that began before a Forget
	}
	if r.Kind == "r" {
		kind, known := rejectionKinds[r.Reject]
		if !known || now >= r.At+int64(v.cfg.negativeTTL) {
			return miss()
		}
		err := newError(kind, descriptionOf(kind), nil)
		v.rememberRejection(f, err)
		return rejected(err)
	}
	fa := &fact{userID: r.UserID, aud: r.Aud, appID: r.AppID, iat: r.Iat, exp: r.Exp, at: r.At, profile: r.Profile}
	if fa.userID == "" || (fa.profile != nil && fa.profile.UserID != fa.userID) {
		return miss()
	}
	until := r.At + int64(v.cfg.cacheTTL)
	if r.Exp != 0 {
		until = min(until, r.Exp)
	}
	trust := time.Duration(until - now)
	if trust <= 0 {
		return miss()
	}
	if f.refresh && v.cfg.refreshAhead > 0 && float64(trust) < float64(v.cfg.cacheTTL)*v.cfg.refreshAhead {
		return miss() // due for a refresh fleet-wide
	}
	e, err := v.decide(fa)
	if err != nil {
		v.rememberRejection(f, err)
		return rejected(err)
	}
	if e == nil {
		return miss() // another app's token as far as the writer knew; this Verifier needs the profile
	}
	if err := v.revokedNow(f, e); err != nil {
		return rejected(err)
	}
	if !s.complete() {
		switch err, ok := s.userRevoked(ctx, e); {
		case !ok:
			return miss() // the customer's revocation record could not be read: not a hit
		case err != nil:
			return rejected(err)
		}
	}
	v.remember(f, e)
	v.observeLookup(ctx, observe.TierShared, observe.LookupHit)
	return e, nil, true
}

// userRevoked reads the revocation record of e's customer. ok is false
// when it could not be read.
func (s *sharedTier) userRevoked(ctx context.Context, e *entry) (*Error, bool) {
	name := userRecordKey(e.userKey())
	vals, err := s.get(ctx, name)
	if err != nil {
		return nil, false
	}
	if vals[0] == nil {
		return nil, true
	}
	cutoff, _, o := s.keys.openInstant(name, vals[0])
	if o != openOK {
		s.forged(ctx, o, observe.ForgedValue)
		return nil, true
	}
	s.v.revokeUserLocal(e.userKey(), cutoff)
	if issuedBy(e, cutoff) {
		return errRevoked(), true
	}
	return nil, true
}

// checkUser rejects a token Amazon just verified whose customer was
// revoked after it was issued, by this replica's knowledge or the store's.
// When the store cannot be read, what this replica heard is all it knows:
// Redis trouble never fails a request.
func (s *sharedTier) checkUser(ctx context.Context, f *flight, e *entry) *Error {
	if err := s.v.revokedNow(f, e); err != nil {
		return err
	}
	err, _ := s.userRevoked(ctx, e)
	return err
}

// rejectionKinds name the rows a sealed rejection may carry: Amazon's own.
var rejectionKinds = map[string]error{
	CodeInvalidToken: ErrInvalidToken, CodeInsufficientScope: ErrInsufficientScope,
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
// holds it to store Amazon's answer. ok reports an answer found; held that
// this replica holds the lock and must ask Amazon, then unlock.
func (s *sharedTier) await(ctx context.Context, f *flight) (e *entry, err *Error, ok, held bool) {
	tag := f.tag()
	lock := tag + ":l"
	got, lerr := s.setNX(ctx, lock)
	if lerr != nil {
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
		vals, gerr := s.get(ctx, tag+":e", tag+":r", tag+":f", lock)
		if gerr != nil {
			return nil, nil, false, false
		}
		if vals[0] != nil || vals[1] != nil {
			if e, err, ok := s.decide(f, vals[0], vals[1], vals[2]); ok {
				return e, err, true, false
			}
		}
		if vals[3] == nil { // the holder gave up (or died): take over
			got, lerr = s.setNX(ctx, lock)
			if lerr != nil || got {
				return nil, nil, false, lerr == nil
			}
		}
	}
}

func (s *sharedTier) setNX(ctx context.Context, key string) (bool, error) {
	var got bool
	err := s.do(ctx, observe.SharedSetNX, false, func() error {
		var err error
		got, err = s.c.SetNX(ctx, key, []byte{1}, s.v.cfg.timeout)
		return err
	})
	return got, err
}

// unlock releases the fleet-wide lock of a flight. It is always attempted,
// backoff or not (a lock left behind makes the other replicas wait for an
// answer that never comes); in the backoff it is attempted in the
// background, so that the flight's callers do not wait for it.
func (s *sharedTier) unlock(f *flight) {
	key := f.tag() + ":l"
	release := func() {
		ctx, cancel := s.bounded()
		defer cancel()
		_ = s.do(ctx, observe.SharedDelete, true, func() error { return s.c.Delete(ctx, key) })
	}
	if s.backoffUntil.Load() == 0 {
		release()
		return
	}
	s.probeWG.Add(1)
	go func() {
		defer s.probeWG.Done()
		release()
	}()
}

// bounded is the context of a write that no request waits for.
func (s *sharedTier) bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.v.cfg.timeout)
}

func (s *sharedTier) set(ctx context.Context, force bool, key string, val []byte, ttl time.Duration) error {
	return s.do(ctx, observe.SharedSet, force, func() error { return s.c.Set(ctx, key, val, ttl) })
}

// storeFact writes Amazon's facts about a token for as long as this
// Verifier would trust them.
func (s *sharedTier) storeFact(ctx context.Context, f *flight, fa *fact) {
	ttl := s.v.cfg.cacheTTL
	if fa.exp != 0 {
		ttl = min(ttl, time.Until(time.Unix(0, fa.exp)))
	}
	if ttl <= 0 {
		return
	}
	r := &record{Kind: "f", UserID: fa.userID, Aud: fa.aud, AppID: fa.appID, Iat: fa.iat, Exp: fa.exp, At: fa.at, Profile: fa.profile}
	s.store(ctx, f, r, ttl)
}

// storeRejection writes one of Amazon's own rejections for the negative
// cache's TTL.
func (s *sharedTier) storeRejection(ctx context.Context, f *flight, err *Error) {
	if _, amazons := rejectionKinds[err.Code]; !amazons || s.v.cfg.negativeTTL <= 0 {
		return
	}
	s.store(ctx, f, &record{Kind: "r", Reject: err.Code, At: time.Now().UnixNano()}, s.v.cfg.negativeTTL)
}

// store seals and writes r, when the flight knows which forget tombstone
// it began under (it read the store before asking Amazon).
func (s *sharedTier) store(ctx context.Context, f *flight, r *record, ttl time.Duration) {
	if !f.known {
		return
	}
	r.Gen = f.gen
	name := f.tag() + ":e"
	if val := s.keys.seal(f.token, name, r); val != nil {
		_ = s.set(ctx, false, name, val, ttl)
	}
}

// Kinds of messages between replicas.
const (
	msgForget     = 'f' // the local key of a forgotten token
	msgRevoke     = 'r' // the local key of a revoked token, until when
	msgRevokeUser = 'u' // a customer's user key, the cutoff
)

func (s *sharedTier) publish(ctx context.Context, kind byte, hash [sha256.Size]byte, t int64) error {
	msg := s.keys.signMessage(message{kind: kind, hash: hash, t: t, sent: time.Now().UnixNano(), sender: s.id})
	return s.do(ctx, observe.SharedPublish, true, func() error { return s.c.Publish(ctx, msg) })
}

func (s *sharedTier) onMessage(raw []byte) {
	ctx := context.Background()
	m, o := s.keys.openMessage(raw)
	if o != openOK {
		s.forged(ctx, o, observe.ForgedMessage)
		return
	}
	if m.sender == s.id {
		return // applied before it was sent
	}
	var kind observe.RevocationKind
	switch m.kind {
	case msgForget:
		kind = observe.RevokeForget
		s.v.forgetLocal(m.hash, false)
	case msgRevoke:
		kind = observe.RevokeToken
		s.v.revokeLocal(m.hash, time.Unix(0, m.t))
	case msgRevokeUser:
		kind = observe.RevokeUser
		s.v.revokeUserLocal(m.hash, m.t)
	default:
		s.forged(ctx, openUnreadable, observe.ForgedMessage)
		return
	}
	s.v.observeRevocation(kind, time.Since(time.Unix(0, m.sent)), true)
}

// onReset drops the local tier: invalidations may have been missed while
// the subscription was down; and customer revocations are read from the
// store again for a token's lifetime.
func (s *sharedTier) onReset() {
	if s.resets.Add(1) > 1 {
		s.v.log.LogAttrs(context.Background(), slog.LevelWarn,
			"lwa: shared cache subscription re-established; dropping the local tier, which may have missed invalidations")
	}
	s.syncedSince.Store(s.v.wallNow().UnixNano())
	s.v.cache.clear()
}

// forget drops a token from the store, leaves a tombstone that outlives
// any entry a verification under way may still write, and tells every
// replica.
func (s *sharedTier) forget(token string, key cacheKey) {
	ctx, cancel := s.bounded()
	defer cancel()
	tag := tokenTag(token)
	var g [8]byte
	_, _ = rand.Read(g[:])
	gen := int64(binary.BigEndian.Uint64(g[:]) >> 1) // positive: 0 means none
	gen |= 1
	now := time.Now().UnixNano()
	_ = errors.Join(
		s.set(ctx, true, tag+":f", s.keys.signInstant(tag+":f", gen, now), s.v.cfg.cacheTTL+s.v.cfg.timeout+time.Second),
		s.do(ctx, observe.SharedDelete, true, func() error { return s.c.Delete(ctx, tag+":e") }),
		s.publish(ctx, msgForget, key, 0),
	)
}

func (s *sharedTier) revoke(ctx context.Context, token string, key cacheKey, until time.Time) error {
	tag := tokenTag(token)
	ttl := max(time.Until(until), time.Second)
	err := errors.Join(
		s.set(ctx, true, tag+":r", s.keys.signInstant(tag+":r", until.UnixNano(), time.Now().UnixNano()), ttl),
		s.do(ctx, observe.SharedDelete, true, func() error { return s.c.Delete(ctx, tag+":e") }),
		s.publish(ctx, msgRevoke, key, until.UnixNano()),
	)
	if err != nil {
		return newError(ErrUpstream, "the revocation did not reach the shared cache; other replicas may still accept the token", err)
	}
	return nil
}

func (s *sharedTier) revokeUser(ctx context.Context, uk userKey, cutoff int64) error {
	name := userRecordKey(uk)
	err := errors.Join(
		s.set(ctx, true, name, s.keys.signInstant(name, cutoff, time.Now().UnixNano()), maxTokenLifetime+revocationSkew+time.Minute),
		s.publish(ctx, msgRevokeUser, uk, cutoff),
	)
	if err != nil {
		return newError(ErrUpstream, "the revocation did not reach the shared cache; other replicas may still accept the customer's tokens", err)
	}
	return nil
}
