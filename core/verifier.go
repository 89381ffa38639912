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
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Verifier checks Login with Amazon access tokens: it asks Amazon's
// tokeninfo and profile endpoints (in parallel), accepts only tokens whose
// audience is one of its client IDs, and caches the result by the token's
// SHA-256. It is safe for concurrent use; share one Verifier between routes
// and frameworks so they share one cache.
type Verifier struct {
	cfg          *config
	tokeninfoURL string // ends in "?access_token="
	profileURL   string
	client       *http.Client
	transport    *http.Transport // ours, closed by Close; nil with WithHTTPClient
	cache        *caches
	group        singleflight.Group
	slots        chan struct{} // bounds concurrent upstream verifications
	forgets      atomic.Uint64 // bumped by Forget; in-flight results seen across one are not cached
	log          *slog.Logger
}

// NewVerifier returns a Verifier configured by opts. It fails when no client
// ID is configured (neither WithClientID nor LWA_CLIENT_ID), when the
// endpoint is not an http(s) URL, or when an option is out of range.
func NewVerifier(opts ...Option) (*Verifier, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	cs, err := newCaches(c)
	if err != nil {
		return nil, fmt.Errorf("lwa: cache: %w", err)
	}
	v := &Verifier{
		cfg:          c,
		tokeninfoURL: c.endpoint + "/auth/o2/tokeninfo?access_token=",
		profileURL:   c.endpoint + "/user/profile",
		client:       c.httpClient,
		cache:        cs,
		slots:        make(chan struct{}, c.maxConcurrent),
		log:          c.logger,
	}
	if v.client == nil {
		v.client, v.transport = newDefaultClient(c.maxConcurrent)
	}
	return v, nil
}

// Close stops the cache's background work and closes idle upstream
// connections. The Verifier must not be used afterwards. Calling Close is
// optional for a Verifier that lives as long as the program.
func (v *Verifier) Close() error {
	v.cache.close()
	if v.transport != nil {
		v.transport.CloseIdleConnections()
	}
	return nil
}

// ClientIDs returns the accepted audiences.
func (v *Verifier) ClientIDs() []string { return slices.Clone(v.cfg.clientIDs) }

// Endpoint returns the base URL of the LWA API the Verifier asks.
func (v *Verifier) Endpoint() string { return v.cfg.endpoint }

// Verify checks one access token and returns its customer's profile.
//
// A token seen before and still trusted is answered from memory, without
// allocating. Otherwise Verify asks Amazon: concurrent first uses of one
// token share one verification, which runs under the Verifier's own timeout
// (WithTimeout), not under ctx; a caller whose ctx ends gets its context's
// error at once while the others carry on.
//
// Every error is a *Error carrying the status and code to answer with (see
// the Err… sentinels).
func (v *Verifier) Verify(ctx context.Context, token string) (Profile, error) {
	p, err := v.verify(ctx, token)
	if err != nil {
		return Profile{}, err
	}
	return *p, nil
}

// Forget drops token from the cache (after a logout or a revocation): its
// next use asks Amazon again. A verification of it under way when Forget is
// called completes but is not cached.
func (v *Verifier) Forget(token string) {
	v.forgets.Add(1)
	v.cache.forget(keyOf(token))
}

// verify returns a pointer to the (shared, immutable) cached profile.
func (v *Verifier) verify(ctx context.Context, token string) (*Profile, error) {
	if token == "" {
		return nil, newError(ErrMissingToken, "the request carries no access token", nil)
	}
	if len(token) > MaxTokenLen {
		return nil, newError(ErrMalformedToken, "the access token is longer than 2048 bytes", nil)
	}
	key := keyOf(token)
	if p, ok := v.cache.get(key); ok {
		return p, nil
	}
	return v.verifyCold(ctx, token, key)
}

// verifyCold handles a token that is not in the positive cache.
func (v *Verifier) verifyCold(ctx context.Context, token string, key cacheKey) (*Profile, error) {
	if !printable(token) {
		return nil, newError(ErrMalformedToken, "the access token contains characters an access token cannot have", nil)
	}
	if strings.HasPrefix(token, "Atzr|") {
		return nil, newError(ErrInvalidToken, "a refresh token is not an access token", nil)
	}
	if err, ok := v.cache.rejected(key); ok {
		return nil, err
	}
	// The token may point into a buffer the caller's framework reuses
	// (fasthttp): the shared work, which can outlive this call, gets a copy.
	token = strings.Clone(token)
	work := context.WithoutCancel(ctx)
	ch := v.group.DoChan(string(key[:]), func() (any, error) {
		return v.fetch(work, token, key)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			// Every caller of a shared verification gets its own copy: a
			// custom error handler may modify it.
			e := *AsError(r.Err)
			return nil, &e
		}
		return r.Val.(*Profile), nil
	case <-ctx.Done():
		// The caller's own context, not Amazon, ended it: no sentinel, the
		// cause is the context's error.
		return nil, &Error{Status: http.StatusGatewayTimeout, Code: CodeServerError,
			Description: "the request ended before its token was verified", cause: ctx.Err()}
	}
}

// printable reports whether every byte of s is printable ASCII (0x21–0x7E),
// eight bytes at a time.
func printable(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		del := x ^ (0x7f * lo)
		// any byte >= 0x80, any byte < 0x21, any byte == 0x7f
		if (x|((x-0x21*lo)&^x)|((del-lo)&^del))&hi != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// fetch is the shared verification of one token: both upstream calls at
// once, the decision, and the caching. It runs detached from any caller, under
// the Verifier's timeout, and turns a panic into an error.
func (v *Verifier) fetch(parent context.Context, token string, key cacheKey) (p *Profile, err error) {
	defer func() {
		if r := recover(); r != nil {
			v.log.LogAttrs(parent, slog.LevelError, "lwa: panic during verification",
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			p, err = nil, newError(ErrUpstream, "internal error during verification", fmt.Errorf("panic: %v", r))
		}
	}()
	// A caller that missed the caches just before an earlier flight for this
	// token finished must not ask Amazon a second time.
	if p, ok := v.cache.get(key); ok {
		return p, nil
	}
	if err, ok := v.cache.rejected(key); ok {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(parent, v.cfg.timeout)
	defer cancel()
	select {
	case v.slots <- struct{}{}:
		defer func() { <-v.slots }()
	case <-ctx.Done():
		return nil, newError(ErrUpstreamTimeout, "too many verifications in progress", context.DeadlineExceeded)
	}
	forgets := v.forgets.Load()
	e, rerr := v.ask(ctx, token)
	if rerr != nil {
		if rerr.kind == ErrUpstream || rerr.kind == ErrUpstreamTimeout {
			v.log.LogAttrs(ctx, slog.LevelWarn, "lwa: verification failed upstream",
				slog.Int("status", rerr.Status), slog.String("error", rerr.Error()))
		} else if v.forgets.Load() == forgets {
			v.cache.rememberRejection(key, rerr)
		}
		return nil, rerr
	}
	if v.forgets.Load() == forgets {
		v.cache.remember(key, e)
	}
	return &e.profile, nil
}

// ask calls tokeninfo and profile in parallel and decides.
func (v *Verifier) ask(ctx context.Context, token string) (*entry, *Error) {
	pctx, cancelProfile := context.WithCancel(ctx)
	defer cancelProfile()
	profileCh := make(chan answer, 1)
	go func() {
		profileCh <- v.get(pctx, "profile", v.profileURL, token, true)
	}()
	ti := v.get(ctx, "tokeninfo", v.tokeninfoURL+url.QueryEscape(token), token, false)
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
	ttl := v.cfg.cacheTTL
	if *info.Exp < math.MaxInt64/int64(time.Second) {
		ttl = min(ttl, time.Duration(*info.Exp)*time.Second)
	}
	return &entry{profile: p, ttl: ttl}, nil
}

// checkTokenInfo decodes tokeninfo's answer and checks expiry and audience.
func (v *Verifier) checkTokenInfo(a answer) (*tokenInfo, *Error) {
	if a.err != nil {
		return nil, a.err
	}
	var ti tokenInfo
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
// checks the required fields.
func (v *Verifier) checkProfile(a answer, userID string) (Profile, *Error) {
	if a.err != nil {
		return Profile{}, a.err
	}
	var pa profileAnswer
	if err := decodeFlat(a.body, pa.fields()); err != nil || pa.UserID == nil {
		return Profile{}, badAnswer("profile", http.StatusOK, "answer is not the documented JSON").withRequestID(a.requestID)
	}
	if *pa.UserID != userID {
		return Profile{}, newError(ErrInvalidToken, "the profile does not belong to the access token's user", nil).withRequestID(a.requestID)
	}
	p := Profile{UserID: userID, Email: deref(pa.Email), Name: deref(pa.Name), PostalCode: deref(pa.PostalCode)}
	for _, f := range v.cfg.required {
		if (f == FieldEmail && p.Email == "") || (f == FieldName && p.Name == "") || (f == FieldPostalCode && p.PostalCode == "") {
			return Profile{}, newError(ErrInsufficientScope, "the customer did not share the profile field "+f+" this app requires", nil).withRequestID(a.requestID)
		}
	}
	return p, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Revoke makes this server stop accepting token, on every replica that
// shares its SharedCache, until it would have expired at Amazon: a revoked
// token is answered 400 invalid_token (ErrInvalidToken). token is taken as
// the client sent it (trimmed and percent-decoded once, as extraction does).
// It returns an error when the revocation could not be stored in or
// published through the shared cache: the other replicas may not have heard
// it. Without a shared cache it works within this process.
func (v *Verifier) Revoke(ctx context.Context, token string) error {
	return nil // TODO
}

// RevokeUser makes this server reject every token of the customer userID
// issued before the call (tokeninfo's iat), on every replica that shares its
// SharedCache; tokens issued later are accepted: "sign out everywhere".
func (v *Verifier) RevokeUser(ctx context.Context, userID string) error {
	return nil // TODO
}
