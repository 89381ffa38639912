package core

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/go-lwa/lwa/core/observe"
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
	log          *slog.Logger
	obs          Observer // nil when none
	detach       func()

	mu      sync.Mutex
	flights map[cacheKey]*flight // verifications under way, by token
	pending int                  // flights without a slot yet
	running int                  // flights holding a slot (WithConcurrency)
	queue   flightQueue          // flights waiting for a slot, oldest first

	// revMu orders revocations (write) against storing entries (read): a
	// Forget, Revoke or RevokeUser either drops an entry or keeps it from
	// being stored.
	revMu sync.RWMutex

	names   names // client and app IDs shared by entries
	revoked *revocations
	shared  *sharedTier // nil without WithSharedCache
	breaker *breaker
	bg      sync.WaitGroup // background refreshes
	closing chan struct{}
	closed  sync.Once
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
		cache:        cs,
		log:          c.logger,
		obs:          c.observer,
		flights:      make(map[cacheKey]*flight),
		revoked:      newRevocations(),
		breaker:      newBreaker(c, observeBreaker(c.observer)),
		closing:      make(chan struct{}),
	}
	if c.httpClient != nil {
		v.client = noRedirects(c.httpClient)
	} else {
		v.client, v.transport = newDefaultClient(c.maxConcurrent)
	}
	if c.shared != nil {
		v.shared = newSharedTier(v, c.shared, c.sharedKeys)
	}
	if v.obs != nil {
		v.detach = v.obs.Attach(v.stats)
	}
	return v, nil
}

// Close stops the Verifier's background work (cache maintenance, refreshes,
// the shared tier's subscription) and closes idle upstream connections. The
// Verifier must not be used afterwards. Calling Close is optional for a
// Verifier that lives as long as the program; Close may be called more than
// once.
func (v *Verifier) Close() error {
	v.closed.Do(func() {
		close(v.closing)
		if v.shared != nil {
			v.shared.close()
		}
		v.endQueued()
		v.bg.Wait()
		v.cache.close()
		if v.transport != nil {
			v.transport.CloseIdleConnections()
		}
		if v.detach != nil {
			v.detach()
		}
	})
	return nil
}

// endQueued ends the flights waiting for a slot: the Verifier is closing.
func (v *Verifier) endQueued() {
	v.mu.Lock()
	var queued []*flight
	for v.queue.head != nil {
		f := v.queue.head
		v.unqueueLocked(f)
		queued = append(queued, f)
	}
	v.mu.Unlock()
	for _, f := range queued {
		v.observeWaiting(f, -1)
		v.finish(f, nil, newError(ErrUpstreamUnavailable, "the verifier is closing", nil))
	}
}

// stats reports the Verifier's state to the Observer.
func (v *Verifier) stats() observe.Stats {
	s := v.cache.stats()
	s.Breaker = v.breaker.state()
	if v.shared != nil {
		s.Shared = v.shared.state()
	}
	return s
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
	e, err := v.verify(ctx, token)
	if err != nil {
		return Profile{}, v.shape(AsError(err))
	}
	return e.profile, nil
}

// VerifyInfo is Verify that also returns the token's details: the client ID
// it was issued to, when it was issued and when it expires.
func (v *Verifier) VerifyInfo(ctx context.Context, token string) (Profile, TokenInfo, error) {
	e, err := v.verify(ctx, token)
	if err != nil {
		return Profile{}, TokenInfo{}, v.shape(AsError(err))
	}
	return e.profile, e.info(), nil
}

// verify returns the (shared, immutable) cached entry of token.
func (v *Verifier) verify(ctx context.Context, token string) (*entry, error) {
	if token == "" {
		return nil, newError(ErrMissingToken, "the request carries no access token", nil)
	}
	if len(token) > MaxTokenLen {
		return nil, newError(ErrMalformedToken, "the access token is longer than 2048 bytes", nil)
	}
	key := keyOf(token)
	if e, refresh, ok := v.cache.get(key); ok {
		if v.obs != nil {
			v.obs.CacheLookup(ctx, observe.CacheEvent{Tier: observe.TierLocal, Result: observe.LookupHit})
		}
		if refresh {
			v.refreshAhead(ctx, token, key, e)
		}
		return e, nil
	}
	return v.verifyCold(ctx, token, key)
}

// verifyCold handles a token that is not in the positive cache.
func (v *Verifier) verifyCold(ctx context.Context, token string, key cacheKey) (*entry, error) {
	if !printable(token) {
		return nil, newError(ErrMalformedToken, "the access token contains characters an access token cannot have", nil)
	}
	if strings.HasPrefix(token, "Atzr|") {
		return nil, newError(ErrInvalidToken, "a refresh token is not an access token", nil)
	}
	if v.revoked.token(key) {
		v.observeLookup(ctx, observe.TierLocal, observe.LookupRejectedHit)
		return nil, errRevoked()
	}
	if err, ok := v.cache.rejected(key); ok {
		v.observeLookup(ctx, observe.TierLocal, observe.LookupRejectedHit)
		return nil, err
	}
	v.observeLookup(ctx, observe.TierLocal, observe.LookupMiss)
	return v.join(ctx, token, key)
}

func (v *Verifier) observeLookup(ctx context.Context, tier observe.Tier, r observe.LookupResult) {
	if v.obs != nil {
		v.obs.CacheLookup(ctx, observe.CacheEvent{Tier: tier, Result: r})
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
