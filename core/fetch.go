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
	"time"
)

// fetchSafe is fetch with panics turned into a 502: a panic anywhere in a
// verification (a user's RoundTripper, say) never crashes the process. The
// panic's value may hold the request URL, and so the token: it is neither
// logged nor wrapped, only its type and a stack without arguments.
func (v *Verifier) fetchSafe(f *flight, token string, key cacheKey) (e *entry, err *Error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, v.panicked(f.ctx, r)
		}
	}()
	return v.fetch(f, token, key)
}

// panicked logs a recovered panic safely and returns its 502.
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

// fetch is the shared verification of one token: the other tiers, then both
// upstream calls at once, the decision, and the caching. It runs detached
// from any caller, under the Verifier's timeout.
func (v *Verifier) fetch(f *flight, token string, key cacheKey) (*entry, *Error) {
	// A caller that missed the caches just before an earlier flight for this
	// token finished must not ask Amazon a second time. A refresh ahead of
	// expiry asks anyway.
	if !f.refresh {
		if e, _, ok := v.cache.get(key); ok {
			return e, nil
		}
		if err, ok := v.cache.rejected(key); ok {
			return nil, err
		}
	}
	var tag string // the token's name in the shared tier, hashed once
	if v.shared != nil {
		tag = tokenTag(token)
		if e, err, ok := v.shared.lookup(f, token, tag, key); ok {
			return e, err
		}
	}
	probe, err := v.breaker.allow()
	if err != nil {
		return v.staleOr(f.ctx, key, err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, v.cfg.timeout)
	defer cancel()
	if err := v.acquire(ctx, f); err != nil {
		v.breaker.cancel(probe)
		if err == errAbandoned {
			return nil, err
		}
		return v.staleOr(f.ctx, key, err) // every slot held by a hanging upstream
	}
	defer v.release()
	unlock := func() {}
	if v.shared != nil {
		e, err, ok, held := v.shared.await(ctx, f, token, tag, key)
		if ok {
			v.breaker.cancel(probe)
			return e, err
		}
		if held {
			unlock = func() { v.shared.unlock(tag) }
		}
	}
	e, err := v.askObserved(ctx, token)
	v.breaker.record(err)
	if err != nil {
		if !cacheable(err) {
			unlock()
			v.log.LogAttrs(ctx, slog.LevelWarn, "lwa: verification failed upstream",
				slog.Int("status", err.Status), slog.String("error", err.Error()))
			return v.staleOr(f.ctx, key, err)
		}
		if v.shared != nil {
			v.shared.storeRejection(ctx, token, tag, err)
		}
		unlock()
		v.rememberRejection(f, key, err)
		return nil, err
	}
	if err := v.revoked.check(e); err != nil {
		unlock()
		return nil, err
	}
	if v.shared != nil {
		if err := v.shared.checkUser(ctx, e); err != nil {
			unlock()
			return nil, err
		}
		v.shared.store(ctx, token, tag, e)
		unlock()
	}
	v.remember(f, key, e)
	return e, nil
}

// cacheable reports whether err is one of Amazon's documented rejections,
// which may be remembered; upstream failures and inconsistent answers never
// are.
func cacheable(err *Error) bool {
	return err.kind == ErrInvalidToken || err.kind == ErrInsufficientScope || err.kind == ErrNotOurToken
}

// remember caches a verified entry unless Forget or Revoke ran meanwhile. It
// stores first and checks after: a Forget that returned before the store
// has set forgotten, so the entry is dropped again; a Forget after the
// store drops it itself.
func (v *Verifier) remember(f *flight, key cacheKey, e *entry) {
	if f.forgotten.Load() {
		return
	}
	v.cache.remember(key, e)
	if f.forgotten.Load() {
		v.cache.forget(key)
	}
}

func (v *Verifier) rememberRejection(f *flight, key cacheKey, err *Error) {
	v.cache.dropVerified(key) // a refresh Amazon rejected drops the entry
	if f.forgotten.Load() {
		return
	}
	v.cache.rememberRejection(key, err)
	if f.forgotten.Load() {
		v.cache.forget(key)
	}
}

// staleOr serves an entry past its trust when stale-if-error allows it,
// else returns err.
func (v *Verifier) staleOr(ctx context.Context, key cacheKey, err *Error) (*entry, *Error) {
	if v.cfg.staleIfError > 0 {
		if e, ok := v.cache.stale(key); ok {
			v.log.LogAttrs(ctx, slog.LevelDebug, "lwa: serving a stale verification while Amazon fails",
				slog.Int("status", err.Status))
			return e, nil
		}
	}
	return nil, err
}

// askObserved is ask, reported to the Observer.
func (v *Verifier) askObserved(ctx context.Context, token string) (*entry, *Error) {
	if v.obs == nil {
		return v.ask(ctx, token)
	}
	start := time.Now()
	ctx = v.obs.VerificationStart(ctx)
	e, err := v.ask(ctx, token)
	ev := VerificationEvent{Outcome: OutcomeOK, Duration: time.Since(start)}
	if err != nil {
		ev.Outcome, ev.Code = OutcomeFailed, err.Code
		if cacheable(err) {
			ev.Outcome = OutcomeRejected
		}
	}
	v.obs.VerificationEnd(ctx, ev)
	return e, err
}

// ask calls tokeninfo and profile in parallel and decides.
func (v *Verifier) ask(ctx context.Context, token string) (*entry, *Error) {
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
	info, err := v.checkTokenInfo(ti)
	if err != nil {
		cancelProfile() // the token is settled; don't wait for the profile
		<-profileCh
		return nil, err
	}
	pa := <-profileCh
	p, err := v.checkProfile(pa, *info.UserID)
	if err != nil {
		return nil, err
	}
	return v.newEntry(p, info), nil
}

// newEntry builds the cache entry of a token Amazon just verified.
func (v *Verifier) newEntry(p Profile, info *tokenInfoAnswer) *entry {
	left := time.Duration(math.MaxInt64)
	if *info.Exp < math.MaxInt64/int64(time.Second) {
		left = time.Duration(*info.Exp) * time.Second
	}
	e := &entry{profile: p, clientID: v.clientID(*info.Aud)}
	if left < 100*365*24*time.Hour {
		e.expires = time.Now().Add(left).Unix()
	}
	if info.Iat != nil && *info.Iat > 0 {
		e.issued = *info.Iat
	}
	v.setTrust(e, min(v.localTTL(), left), left)
	return e
}

// setTrust sets e's instants on the cache's clock: trusted for trust (capped
// by the local tier's TTL), kept for stale-if-error at most until the token
// expires at Amazon, left from now.
func (v *Verifier) setTrust(e *entry, trust, left time.Duration) {
	now := v.cache.now()
	trust = min(trust, v.localTTL(), left)
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

// clientID returns the Verifier's own copy of the client ID id, so that
// entries share it; "" when id is not one of them.
func (v *Verifier) clientID(id string) string {
	for _, c := range v.cfg.clientIDs {
		if c == id {
			return c
		}
	}
	return ""
}

// localTTL is how long the local tier trusts an entry.
func (v *Verifier) localTTL() time.Duration {
	if v.shared != nil {
		return min(v.cfg.cacheTTL, v.cfg.localTTL)
	}
	return v.cfg.cacheTTL
}

// checkTokenInfo decodes tokeninfo's answer and checks expiry and audience.
func (v *Verifier) checkTokenInfo(a answer) (*tokenInfoAnswer, *Error) {
	if a.err != nil {
		return nil, a.err
	}
	var ti tokenInfoAnswer
	if err := decodeFlat(a.body, ti.fields()); err != nil || ti.Aud == nil || ti.UserID == nil || ti.Exp == nil || *ti.UserID == "" {
		return nil, badAnswer("tokeninfo", http.StatusOK, "answer is not the documented JSON").withRequestID(a.requestID)
	}
	if *ti.Exp <= 0 {
		return nil, newError(ErrInvalidToken, "the access token is expired, revoked, malformed or unknown", nil).withRequestID(a.requestID)
	}
	if !slices.Contains(v.cfg.clientIDs, *ti.Aud) {
		return nil, newError(ErrNotOurToken, "not found", nil).withRequestID(a.requestID)
	}
	return &ti, nil
}

// checkProfile decodes the profile's answer, ties it to tokeninfo's user and
// checks the required fields. A profile of another user is not one of
// Amazon's documented answers: a 502, never remembered.
func (v *Verifier) checkProfile(a answer, userID string) (Profile, *Error) {
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
	p := Profile{UserID: userID, Email: deref(pa.Email), Name: deref(pa.Name), PostalCode: deref(pa.PostalCode)}
	if f := missingField(p, v.cfg.required); f != "" {
		return Profile{}, errMissingField(f).withRequestID(a.requestID)
	}
	return p, nil
}

// missingField returns the first of fields that p lacks, or "".
func missingField(p Profile, fields []string) string {
	for _, f := range fields {
		if (f == FieldEmail && p.Email == "") || (f == FieldName && p.Name == "") || (f == FieldPostalCode && p.PostalCode == "") {
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
