package core

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// fact is what Amazon said about a token that it did not reject: the
// shared tier stores facts, and every Verifier decides from them with its
// own client IDs, app IDs and required fields.
type fact struct {
	userID  string
	aud     string // the client ID it was issued to
	appID   string // "" when Amazon did not say
	iat     int64  // Unix seconds; 0 when Amazon did not say
	exp     int64  // when it expires, Unix nanoseconds; 0 when it outlives any cache
	at      int64  // when Amazon said so, Unix nanoseconds on the wall clock
	fresh   bool   // Amazon said so just now (not read from the shared tier)
	profile *Profile

	// Amazon's request ids of the answers, for the rejections decided from
	// them (never stored).
	tokeninfoRID, profileRID string
}

// settleSafe is settle with panics turned into a 502. ctx bounds the shared
// tier's lookup: the flight's own (detached) context, or the first
// caller's when it looks up itself.
func (v *Verifier) settleSafe(ctx context.Context, f *flight) (e *entry, err *Error, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			e, err, ok = nil, v.panicked(f.ctx, r), true
		}
	}()
	return v.settle(ctx, f)
}

// settle answers a flight from the tiers when they can: a caller that
// missed the local tier just before an earlier flight for this token
// finished must not ask Amazon a second time (a refresh ahead of expiry
// asks anyway), and the shared tier may know the token.
func (v *Verifier) settle(ctx context.Context, f *flight) (*entry, *Error, bool) {
	if !f.refresh {
		if e, _, ok := v.cache.get(f.key); ok {
			return e, nil, true
		}
		if err, ok := v.cache.rejected(f.key); ok {
			return nil, err, true
		}
	}
	if v.shared != nil {
		return v.shared.lookup(ctx, f)
	}
	return nil, nil, false
}

// ask2 is the part of a flight that holds a concurrency slot: the breaker,
// the fleet-wide lock, both calls to Amazon, the decision and the caching.
func (v *Verifier) ask2(f *flight) {
	defer v.release()
	e, err := v.askSafe(f)
	v.finish(f, e, err)
}

// askSafe asks Amazon for a flight, with panics turned into a 502 that the
// breaker counts (a panicking probe is released, never wedged).
func (v *Verifier) askSafe(f *flight) (e *entry, err *Error) {
	var call *upcall
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, v.panicked(f.ctx, r)
			if call != nil {
				v.breaker.done(call, err)
			}
		}
	}()
	call, err = v.breaker.allow(f.key)
	if err != nil {
		return v.staleOr(f, err)
	}
	if v.shared != nil {
		// Waiting for another replica's answer is bounded on its own (half
		// of WithTimeout): a lock left behind (its holder died, or lost
		// Redis) must not leave this verification without time to ask
		// Amazon itself.
		wctx, wcancel := context.WithTimeout(f.ctx, v.cfg.timeout/2)
		e, err, ok, held := v.shared.await(wctx, f)
		wcancel()
		if ok {
			v.breaker.cancel(call)
			call = nil
			return e, err
		}
		if held {
			defer v.shared.unlock(f)
		}
	}
	ctx, cancel := context.WithTimeout(f.ctx, v.cfg.timeout)
	defer cancel()
	fa, err := v.askObserved(ctx, f.token)
	v.breaker.done(call, err)
	call = nil
	if err != nil {
		if !cacheable(err) {
			v.log.LogAttrs(ctx, slog.LevelWarn, "lwa: verification failed upstream",
				slog.Int("status", err.Status), slog.String("error", err.Error()))
			return v.staleOr(f, err)
		}
		if v.shared != nil {
			v.shared.storeRejection(ctx, f, err)
		}
		v.rememberRejection(f, err)
		return nil, err
	}
	if v.shared != nil {
		v.shared.storeFact(ctx, f, fa)
	}
	e, err = v.decide(fa)
	if err != nil {
		v.rememberRejection(f, err)
		return nil, err
	}
	if e == nil { // cannot happen: ask fetches the profile of every token this Verifier accepts
		return nil, badAnswer("profile", 0, "no profile for an accepted token")
	}
	if err := v.revokedNow(f, e); err != nil {
		return nil, err
	}
	if v.shared != nil {
		if err := v.shared.checkUser(ctx, f, e); err != nil {
			return nil, err
		}
	}
	v.remember(f, e)
	return e, nil
}

// panicked logs a recovered panic safely and returns its 502. The panic's
// value may hold the request URL, and so the token: it is neither logged
// nor wrapped, only its type and a stack without arguments.
func (v *Verifier) panicked(ctx context.Context, r any) *Error {
	v.log.LogAttrs(ctx, slog.LevelError, "lwa: panic during verification",
		slog.String("panic_type", fmt.Sprintf("%T", r)), slog.String("stack", scrubStack(debug.Stack())))
	return newError(ErrUpstream, "internal error during verification", fmt.Errorf("panic of type %T", r))
}

// scrubStack keeps a stack trace's function names and file lines, without
// the argument words, which may point at (or be) secret data.
func scrubStack(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "\t") {
			continue // file:line +offset
		}
		if j := strings.LastIndexByte(l, '('); j > 0 && strings.HasSuffix(l, ")") {
			lines[i] = l[:j] + "(…)"
		}
	}
	return strings.Join(lines, "\n")
}

// cacheable reports whether err may be remembered in the local negative
// cache: Amazon's documented rejections and this Verifier's own decisions
// on Amazon's facts (another app's token, a missing required field).
// Upstream failures and inconsistent answers never are.
func cacheable(err *Error) bool {
	return err.kind == ErrInvalidToken || err.kind == ErrInsufficientScope || err.kind == ErrNotOurToken
}

// accepts is the audience decision: the token was issued to one of the
// client IDs, or to a client of one of the apps (WithAppID).
func (v *Verifier) accepts(aud, appID string) bool {
	return slices.Contains(v.cfg.clientIDs, aud) || (appID != "" && slices.Contains(v.cfg.appIDs, appID))
}

// decide turns Amazon's facts into this Verifier's answer: another app's
// token, a missing required field, or an entry. A fact without a profile
// (tokeninfo settled another app's token) cannot accept: ok is false when
// this Verifier would need the profile.
func (v *Verifier) decide(fa *fact) (*entry, *Error) {
	if !v.accepts(fa.aud, fa.appID) {
		return nil, newError(ErrNotOurToken, "not found", nil).withRequestID(fa.tokeninfoRID)
	}
	if fa.profile == nil {
		return nil, nil
	}
	if f := missingField(*fa.profile, v.cfg.required); f != "" {
		return nil, errMissingField(f).withRequestID(fa.profileRID)
	}
	return v.newEntry(fa), nil
}

// revokedNow rejects the answer of a flight when a revocation of its token
// or customer took effect while it was under way.
func (v *Verifier) revokedNow(f *flight, e *entry) *Error {
	if f.revoked.Load() || v.revoked.token(f.key) {
		return errRevoked()
	}
	if e != nil {
		return v.revoked.check(e)
	}
	return nil
}

// remember caches a verified entry unless a Forget, Revoke or RevokeUser
// took effect meanwhile. The check and the store hold the revocation lock
// for reading, and revocations take it for writing: a revocation either
// drops the stored entry or keeps it from being stored, never neither.
func (v *Verifier) remember(f *flight, e *entry) {
	v.revMu.RLock()
	defer v.revMu.RUnlock()
	if f.forgotten.Load() || v.revokedNow(f, e) != nil {
		return
	}
	v.cache.remember(f.key, e)
}

func (v *Verifier) rememberRejection(f *flight, err *Error) {
	v.revMu.RLock()
	defer v.revMu.RUnlock()
	v.cache.dropVerified(f.key) // a refresh Amazon rejected drops the entry
	if !f.forgotten.Load() {
		v.cache.rememberRejection(f.key, err)
	}
}

// staleOr serves an entry past its trust when stale-if-error allows it,
// never for a token or customer revoked or forgotten, else returns err.
func (v *Verifier) staleOr(f *flight, err *Error) (*entry, *Error) {
	if v.cfg.staleIfError <= 0 || f.forgotten.Load() {
		return nil, err
	}
	e, ok := v.cache.stale(f.key)
	if !ok || v.revokedNow(f, e) != nil {
		return nil, err
	}
	if !f.refresh {
		v.log.LogAttrs(f.ctx, slog.LevelDebug, "lwa: serving a stale verification while Amazon fails",
			slog.Int("status", err.Status))
	}
	v.observeStale(f, e)
	return e, nil
}

// askObserved is ask, reported to the Observer.
func (v *Verifier) askObserved(ctx context.Context, token string) (*fact, *Error) {
	if v.obs == nil {
		return v.ask(ctx, token)
	}
	start := time.Now()
	ctx = v.obs.VerificationStart(ctx)
	fa, err := v.ask(ctx, token)
	ev := observe.VerificationEvent{Outcome: observe.OutcomeOK, Duration: time.Since(start)}
	if err == nil && !v.accepts(fa.aud, fa.appID) {
		ev.Outcome, ev.Code = observe.OutcomeRejected, CodeNotFound
	}
	if err != nil {
		ev.Outcome, ev.Code = observe.OutcomeFailed, err.Code
		if cacheable(err) {
			ev.Outcome = observe.OutcomeRejected
		}
	}
	v.obs.VerificationEnd(ctx, ev)
	return fa, err
}

// ask calls tokeninfo and profile in parallel and returns Amazon's facts,
// or Amazon's rejection, or a failure.
func (v *Verifier) ask(ctx context.Context, token string) (*fact, *Error) {
	pctx, cancelProfile := context.WithCancel(ctx)
	defer cancelProfile()
	profileCh := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				profileCh <- answer{err: v.panicked(ctx, r)}
			}
		}()
		profileCh <- v.call(pctx, endpointProfile, v.profileURL, token)
	}()
	ti := v.call(ctx, endpointTokenInfo, v.tokeninfoURL+url.QueryEscape(token), token)
	fa, err := checkTokenInfo(ti)
	if err != nil || !v.accepts(fa.aud, fa.appID) {
		cancelProfile() // the token is settled; don't wait for the profile
		<-profileCh
		return fa, err
	}
	pa := <-profileCh
	p, err := checkProfile(pa, fa.userID)
	if err != nil {
		return nil, err
	}
	fa.profile, fa.profileRID = &p, pa.requestID
	return fa, nil
}

// newEntry builds the cache entry of a token this Verifier accepts.
func (v *Verifier) newEntry(fa *fact) *entry {
	now := time.Now().UnixNano()
	left := time.Duration(math.MaxInt64)
	e := &entry{profile: *fa.profile, clientID: v.names.intern(fa.aud), appID: v.names.intern(fa.appID),
		issued: fa.iat}
	// Trusted for the cache TTL from when Amazon said so; an answer just
	// received counts from now.
	trust, age := v.cfg.cacheTTL, time.Duration(0)
	if !fa.fresh {
		age = time.Duration(now - fa.at)
		trust -= age
	}
	if fa.exp != 0 {
		left = time.Duration(fa.exp-fa.at) - age
		e.expires = time.Unix(0, fa.exp).Unix()
	}
	v.setTrust(e, min(trust, left), left)
	return e
}

// names interns the client and app IDs of entries: an app has a handful,
// shared by every entry instead of one copy each.
type names struct {
	mu sync.Mutex
	m  map[string]string
}

// maxNames bounds names: past it (a flood of other apps' IDs cannot reach
// it, they are never cached) strings are kept as they are.
const maxNames = 256

func (n *names) intern(s string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if own, ok := n.m[s]; ok {
		return own
	}
	if n.m == nil {
		n.m = make(map[string]string)
	}
	if len(n.m) < maxNames {
		n.m[s] = s
	}
	return s
}

// setTrust sets e's instants on the cache's clock: trusted for trust (capped
// by the local tier's TTL), kept for stale-if-error at most until the token
// expires at Amazon, left from now.
func (v *Verifier) setTrust(e *entry, trust, left time.Duration) {
	now := v.cache.now()
	trust = max(min(trust, v.localTTL(), left), 0)
	e.ttl = trust
	if v.cache.coarse != nil {
		trust -= clockResolution
		left -= clockResolution
	}
	e.trustUntil = now + int64(trust)
	e.keepUntil = e.trustUntil
	if v.cfg.staleIfError > 0 {
		e.keepUntil = now + int64(min(trust+v.cfg.staleIfError, left))
	}
	if v.cfg.refreshAhead > 0 && trust > 0 {
		e.refreshAt = e.trustUntil - int64(float64(trust)*v.cfg.refreshAhead)
	}
}

// localTTL is how long the local tier trusts an entry.
func (v *Verifier) localTTL() time.Duration {
	if v.shared != nil {
		return min(v.cfg.cacheTTL, v.cfg.localTTL)
	}
	return v.cfg.cacheTTL
}

// checkTokenInfo decodes tokeninfo's answer: Amazon's facts about the
// token, or its rejection.
func checkTokenInfo(a answer) (*fact, *Error) {
	if a.err != nil {
		return nil, a.err
	}
	var ti tokenInfoAnswer
	if err := decodeFlat(a.body, ti.fields()); err != nil || ti.Aud == nil || ti.UserID == nil || ti.Exp == nil || *ti.UserID == "" || *ti.Aud == "" {
		return nil, badAnswer("tokeninfo", http.StatusOK, "answer is not the documented JSON").withRequestID(a.requestID)
	}
	if *ti.Exp <= 0 {
		return nil, newError(ErrInvalidToken, "the access token is expired, revoked, malformed or unknown", nil).withRequestID(a.requestID)
	}
	now := time.Now()
	fa := &fact{userID: *ti.UserID, aud: *ti.Aud, appID: deref(ti.AppID), at: now.UnixNano(), fresh: true, tokeninfoRID: a.requestID}
	if *ti.Exp < 100*365*24*3600 { // else it outlives any cache: no expiry
		fa.exp = now.Add(time.Duration(*ti.Exp) * time.Second).UnixNano()
	}
	if ti.Iat != nil && *ti.Iat > 0 {
		fa.iat = *ti.Iat
	}
	return fa, nil
}

// checkProfile decodes the profile's answer and ties it to tokeninfo's
// user. A profile of another user is not one of Amazon's documented
// answers: a 502, never remembered.
func checkProfile(a answer, userID string) (Profile, *Error) {
	if a.err != nil {
		return Profile{}, a.err
	}
	var pa profileAnswer
	if err := decodeFlat(a.body, pa.fields()); err != nil || pa.UserID == nil {
		return Profile{}, badAnswer("profile", http.StatusOK, "answer is not the documented JSON").withRequestID(a.requestID)
	}
	if *pa.UserID != userID {
		return Profile{}, badAnswer("profile", http.StatusOK, "the profile's user_id is not tokeninfo's").withRequestID(a.requestID)
	}
	return Profile{UserID: userID, Email: deref(pa.Email), Name: deref(pa.Name), PostalCode: deref(pa.PostalCode)}, nil
}

// missingField returns the first of fields that p lacks, or "". An unknown
// field name counts as missing: a typo fails closed.
func missingField(p Profile, fields []string) string {
	for _, f := range fields {
		switch {
		case f == FieldEmail && p.Email != "", f == FieldName && p.Name != "", f == FieldPostalCode && p.PostalCode != "":
		default:
			return f
		}
	}
	return ""
}

func errMissingField(f string) *Error {
	return newError(ErrInsufficientScope, "the customer did not share the profile field "+f+" this app requires", nil)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
