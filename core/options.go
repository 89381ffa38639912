package core

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-lwa/lwa/internal/bridge"
)

// Login with Amazon API endpoints, one per region. Pass one to WithEndpoint.
const (
	EndpointNA = "https://api.amazon.com"   // North America (the default)
	EndpointEU = "https://api.amazon.co.uk" // Europe
	EndpointFE = "https://api.amazon.co.jp" // Far East
)

// Environment variables read by NewVerifier when the matching option is not given.
const (
	EnvClientID = "LWA_CLIENT_ID" // comma-separated client IDs
	EnvEndpoint = "LWA_ENDPOINT"  // base URL of the LWA API
	// EnvSharedKeys holds the fleet's shared-tier keys when WithSharedKeys
	// is not given: comma-separated standard base64, each at least 32 bytes.
	EnvSharedKeys = "LWA_SHARED_KEYS"
	// MinSharedKeyLen is the shortest fleet key WithSharedKeys (or
	// LWA_SHARED_KEYS) accepts, in bytes.
	MinSharedKeyLen = 32
)

// Profile fields that WithRequiredFields can demand.
const (
	FieldEmail      = "email"
	FieldName       = "name"
	FieldPostalCode = "postal_code"
)

// Defaults of the options, for flags and configuration files that show
// them (each option's doc says what it bounds).
const (
	DefaultTimeout          = 5 * time.Second  // WithTimeout
	DefaultCacheTTL         = 5 * time.Minute  // WithCacheTTL
	DefaultCacheSize        = 100_000          // WithCacheSize
	DefaultNegativeCacheTTL = 10 * time.Second // WithNegativeCacheTTL
	DefaultMaxConcurrent    = 64               // WithConcurrency: verifications at once
	DefaultMaxPending       = 4096             // WithConcurrency: verifications waiting
	DefaultLocalCacheTTL    = 30 * time.Second // WithLocalCacheTTL
	DefaultRefreshAhead     = 0.2              // WithRefreshAhead
	DefaultBreakerFailures  = 5                // WithCircuitBreaker: failures
	DefaultBreakerCooldown  = 2 * time.Second  // WithCircuitBreaker: cooldown
)

// maxUpstreamBody bounds every answer read from Amazon.
const maxUpstreamBody = 64 << 10

// Option configures a Verifier; pass options to NewVerifier or to an
// adapter's Require.
type Option func(*config)

type config struct {
	clientIDs     []string
	clientIDsSet  bool
	endpoint      string
	endpointSet   bool
	httpClient    *http.Client
	timeout       time.Duration
	cacheTTL      time.Duration
	cacheSize     int
	negativeTTL   time.Duration
	maxConcurrent int
	required      []string
	logger        *slog.Logger
	noQuery       bool
	nowNano       func() int64 // tests only: the cache's clock
	shared        SharedCache
	observer      Observer
	maxPending    int
	localTTL      time.Duration
	staleIfError  time.Duration
	refreshAhead  float64
	breakerFails  int
	breakerCool   time.Duration
	tokenHeaders  []string // canonical header names
	tokenCookies  []string
	noDocumented  bool
	rfc6750       bool
	clock         func() time.Time
	sharedKeys    [][]byte
	appIDs        []string
}

// WithSharedKeys sets the fleet's secret keys for the shared tier
// (WithSharedCache): every replica of the service is given the same keys,
// which never enter the shared store. The first key seals what this replica
// writes; every key opens what it reads, so a key is rotated with a rolling
// deploy: add the new key second, then move it first, then drop the old
// one. Each key is at least 32 bytes of random data (openssl rand -base64 32).
// Default: LWA_SHARED_KEYS, comma-separated standard base64. A Verifier with a
// shared cache and no key is a NewVerifier error.
func WithSharedKeys(keys ...[]byte) Option {
	return func(c *config) {
		c.sharedKeys = make([][]byte, len(keys))
		for i, k := range keys {
			c.sharedKeys[i] = append([]byte(nil), k...)
		}
	}
}

// WithAppID also accepts a token whose tokeninfo app_id is one of ids
// (amzn1.application.…), in addition to the client IDs of WithClientID: one
// LWA security profile has one app ID and a client ID per platform (web,
// Android, iOS, devices), so a server need not list every platform's
// client ID. A token of another app is still rejected (404 not_found).
func WithAppID(ids ...string) Option {
	return func(c *config) { c.appIDs = append([]string(nil), ids...) }
}

// WithClientID sets the accepted audiences: the LWA client IDs ("Security
// Profile" client IDs, amzn1.application-oa2-client.…) whose tokens this
// server accepts. An app may have several, such as one for the web and one
// for devices. Default: the comma-separated list in LWA_CLIENT_ID.
func WithClientID(ids ...string) Option {
	return func(c *config) {
		c.clientIDs, c.clientIDsSet = append([]string(nil), ids...), true
	}
}

// WithEndpoint sets the base URL of the LWA API: one of EndpointNA (the
// default), EndpointEU, EndpointFE, or a fake such as lwatest.Server.URL.
// Default: LWA_ENDPOINT, else EndpointNA.
func WithEndpoint(baseURL string) Option {
	return func(c *config) { c.endpoint, c.endpointSet = baseURL, true }
}

// WithHTTPClient sets the client used to call Amazon, for proxies,
// OpenTelemetry transports or mTLS. The verifier still bounds every call with
// WithTimeout. Default: a keep-alive client that does not follow redirects.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) { c.httpClient = client }
}

// WithTimeout bounds one verification's upstream work (both calls to Amazon,
// made in parallel). A verification that runs out of time is a 504. Default 5 s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithCacheTTL sets the longest time a verified token is trusted without
// asking Amazon again: the bound on how late a revocation takes effect. A
// token is never cached beyond its own remaining lifetime (tokeninfo's exp).
// Zero turns the cache off. The cache's clock ticks every 10 ms and entries
// are kept one tick less than their TTL, so a TTL under 10 ms caches nothing.
// Default 5 min.
func WithCacheTTL(d time.Duration) Option {
	return func(c *config) { c.cacheTTL = d }
}

// WithCacheSize sets the maximum number of verified tokens kept in the cache
// (W-TinyLFU eviction beyond it). Default 100 000.
func WithCacheSize(n int) Option {
	return func(c *config) { c.cacheSize = n }
}

// WithNegativeCacheTTL sets how long a token Amazon rejected (invalid_token,
// insufficient_scope, or issued to another app) is answered from memory, so
// that one bad token replayed many times costs one upstream call. Upstream
// failures are never cached. Zero turns it off. Default 10 s.
func WithNegativeCacheTTL(d time.Duration) Option {
	return func(c *config) { c.negativeTTL = d }
}

// WithConcurrency bounds the verifications that ask Amazon: at most
// verifications at once (so that a flood of distinct tokens cannot open
// unbounded connections upstream), and at most waiting more queued for a
// slot, each for up to WithTimeout. Past waiting, a new token is answered
// at once with 503 server_error and Retry-After (ErrOverloaded) instead of
// queueing: a flood cannot pile up goroutines and memory. A queued
// verification holds no goroutine, and one whose callers have all gone
// ends at once without asking Amazon. Default 64 and 4096.
func WithConcurrency(verifications, waiting int) Option {
	return func(c *config) { c.maxConcurrent, c.maxPending = verifications, waiting }
}

// WithLocalCacheTTL caps how long the local tier trusts an entry when a
// shared cache is configured (WithSharedCache): the worst-case delay with
// which a replica that missed an invalidation message (Forget, Revoke,
// RevokeUser) still honours it. Without a shared cache, WithCacheTTL alone
// applies. Default 30 s.
func WithLocalCacheTTL(d time.Duration) Option {
	return func(c *config) { c.localTTL = d }
}

// WithStaleIfError lets the verifier, while Amazon fails (5xx, a timeout, an
// answer that is not the documented JSON, the circuit breaker open), keep
// accepting a token it verified before for up to d past the end of its
// normal trust (WithCacheTTL), never past the token's own expiry at Amazon,
// and never a token that was forgotten or revoked. It trades a longer
// revocation lag during an outage (by at most d) for customers who do not
// notice the outage. Default 0: off.
func WithStaleIfError(d time.Duration) Option {
	return func(c *config) { c.staleIfError = d }
}

// WithRefreshAhead sets the last part of an entry's trust window, as a
// fraction of it (0 to 0.9), in which a use of the token re-verifies it in
// the background while the request is answered from memory: a token in
// steady use never makes a request wait for Amazon. The re-verification is
// coalesced, and one Amazon rejects drops the entry. 0 turns it off.
// Default 0.2.
func WithRefreshAhead(fraction float64) Option {
	return func(c *config) { c.refreshAhead = fraction }
}

// WithCircuitBreaker sets the circuit breaker: once verifications of
// failures distinct tokens have failed upstream (5xx, timeouts, answers that
// are not Amazon's documented ones; Amazon's documented rejections are
// answers, not failures), new verifications fail at once with 503
// server_error and a Retry-After header (ErrUpstreamUnavailable) instead of
// each waiting for the timeout. A call to Amazon still under way after a
// second (or half of WithTimeout, if shorter) counts as failed at once, so
// a hanging Amazon opens the breaker within about a second; one token
// failing again and again counts once; a verification that got no
// concurrency slot never asked Amazon and does not count. After cooldown
// one probe verification is let through, and its success closes the
// breaker (a probe that fails, hangs or panics opens it again). failures 0
// turns the breaker off. Default 5 failures, 2 s.
func WithCircuitBreaker(failures int, cooldown time.Duration) Option {
	return func(c *config) { c.breakerFails, c.breakerCool = failures, cooldown }
}

// WithTokenHeader adds custom request headers (such as "X-Api-Token") as
// token sources, each carrying the bare token, in addition to the
// documented sources (see WithDocumentedSources to use them instead). It
// may be given several times. The extraction rule holds across all
// sources: exactly one token, the same token in several places being fine.
func WithTokenHeader(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.tokenHeaders = append(c.tokenHeaders, http.CanonicalHeaderKey(strings.TrimSpace(n)))
		}
	}
}

// WithTokenCookie adds cookies as token sources, each carrying the bare
// token, in addition to the documented sources (see WithDocumentedSources).
// It may be given several times. A cookie is sent by the browser on its
// own, cross-site requests included: protect cookie-authenticated routes
// against CSRF (SameSite=Strict or Lax on the cookie, and a custom header
// or an Origin check on state-changing requests); see SECURITY.md.
func WithTokenCookie(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.tokenCookies = append(c.tokenCookies, strings.TrimSpace(n))
		}
	}
}

// WithDocumentedSources turns the three documented token sources
// (Authorization: Bearer, x-amz-access-token, and the access_token query
// parameter) on or off. Turn them off to read tokens only from the custom
// header or cookie set by WithTokenHeader or WithTokenCookie. Default on.
func WithDocumentedSources(enabled bool) Option {
	return func(c *config) { c.noDocumented = !enabled }
}

// WithRFC6750Statuses answers with RFC 6750's statuses instead of Amazon's
// documented table: no token is 401 with a bare "WWW-Authenticate: Bearer"
// challenge; an invalid, expired or revoked token and a token issued to
// another app are 401 invalid_token; a missing scope or profile field is
// 403 insufficient_scope; a malformed request stays 400 invalid_request and
// upstream trouble stays 502/503/504. SPA and mobile clients whose "refresh
// on 401" interceptors expect RFC 6750 work unchanged. The sentinels
// (errors.Is) are the same in both modes. Default off: Amazon's table.
func WithRFC6750Statuses() Option {
	return func(c *config) { c.rfc6750 = true }
}

// withClock sets the clock of the verifier's caches, circuit breaker and
// revocations, for tests that move time without sleeping: lwatest's
// Server.Verifier passes the fake server's clock (through package
// internal/bridge). Default: the system clock, read coarsely on the cached
// path.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

func init() {
	bridge.WithClock = func(now func() time.Time) any { return withClock(now) }
}

// WithRequiredFields rejects, with 401 insufficient_scope, a token whose
// profile lacks any of the named fields (FieldEmail, FieldName,
// FieldPostalCode): the customer did not grant the scope the app needs.
func WithRequiredFields(fields ...string) Option {
	return func(c *config) { c.required = append([]string(nil), fields...) }
}

// WithLogger sets the logger for upstream failures (Warn) and rejections
// (Debug). Records never contain a token. Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithQueryToken turns the access_token query parameter on or off as a token
// source (on by default, as Amazon's samples use it). Tokens in URLs end up
// in access logs, browser history and Referer headers: turn it off when your
// clients can send a header.
func WithQueryToken(enabled bool) Option {
	return func(c *config) { c.noQuery = !enabled }
}

// newConfig applies opts over the defaults and the environment, and checks
// the result.
func newConfig(opts []Option) (*config, error) {
	c := &config{
		timeout:       DefaultTimeout,
		cacheTTL:      DefaultCacheTTL,
		cacheSize:     DefaultCacheSize,
		negativeTTL:   DefaultNegativeCacheTTL,
		maxConcurrent: DefaultMaxConcurrent,
		maxPending:    DefaultMaxPending,
		localTTL:      DefaultLocalCacheTTL,
		refreshAhead:  DefaultRefreshAhead,
		breakerFails:  DefaultBreakerFailures,
		breakerCool:   DefaultBreakerCooldown,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if !c.clientIDsSet {
		c.clientIDs = strings.Split(os.Getenv(EnvClientID), ",")
	}
	ids := c.clientIDs[:0:0]
	for _, id := range c.clientIDs {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	c.clientIDs = ids
	if len(c.clientIDs) == 0 {
		return nil, errors.New("lwa: no client ID configured: use core.WithClientID or set " + EnvClientID)
	}
	if !c.endpointSet {
		c.endpoint = os.Getenv(EnvEndpoint)
		if c.endpoint == "" {
			c.endpoint = EndpointNA
		}
	}
	ep, err := checkEndpoint(c.endpoint)
	if err != nil {
		return nil, err
	}
	c.endpoint = ep
	switch {
	case c.timeout <= 0:
		return nil, fmt.Errorf("lwa: timeout must be positive, got %v", c.timeout)
	case c.cacheTTL < 0:
		return nil, fmt.Errorf("lwa: cache TTL must not be negative, got %v", c.cacheTTL)
	case c.negativeTTL < 0:
		return nil, fmt.Errorf("lwa: negative cache TTL must not be negative, got %v", c.negativeTTL)
	case c.cacheSize <= 0:
		return nil, fmt.Errorf("lwa: cache size must be positive, got %d", c.cacheSize)
	case c.maxConcurrent <= 0:
		return nil, fmt.Errorf("lwa: max concurrent verifications must be positive, got %d", c.maxConcurrent)
	case c.maxPending <= 0:
		return nil, fmt.Errorf("lwa: max pending verifications must be positive, got %d", c.maxPending)
	case c.localTTL <= 0:
		return nil, fmt.Errorf("lwa: local cache TTL must be positive, got %v", c.localTTL)
	case c.staleIfError < 0:
		return nil, fmt.Errorf("lwa: stale-if-error window must not be negative, got %v", c.staleIfError)
	case c.refreshAhead < 0 || c.refreshAhead > 0.9:
		return nil, fmt.Errorf("lwa: refresh-ahead fraction must be within [0, 0.9], got %v", c.refreshAhead)
	case c.breakerFails < 0 || (c.breakerFails > 0 && c.breakerCool <= 0):
		return nil, fmt.Errorf("lwa: circuit breaker wants failures >= 0 and a positive cooldown, got %d, %v", c.breakerFails, c.breakerCool)
	}
	if c.noDocumented && len(c.tokenHeaders) == 0 && len(c.tokenCookies) == 0 {
		return nil, errors.New("lwa: WithDocumentedSources(false) leaves no token source: add WithTokenHeader or WithTokenCookie")
	}
	if c.clock != nil && c.nowNano == nil {
		clk := c.clock
		c.nowNano = func() int64 { return clk().UnixNano() }
	}
	if err := checkFields(c.required); err != nil {
		return nil, err
	}
	if slices.Contains(c.tokenHeaders, "") || slices.Contains(c.tokenCookies, "") {
		return nil, errors.New("lwa: an empty token header or cookie name")
	}
	c.appIDs = slices.DeleteFunc(c.appIDs, func(id string) bool { return strings.TrimSpace(id) == "" })
	if err := c.loadSharedKeys(); err != nil {
		return nil, err
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c, nil
}

// checkEndpoint validates an endpoint base URL and returns it without a
// trailing slash.
func checkEndpoint(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("lwa: invalid endpoint %q: %w", raw, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("lwa: invalid endpoint %q: want an http(s) base URL such as %s", raw, EndpointNA)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// loadSharedKeys takes the fleet keys from LWA_SHARED_KEYS when
// WithSharedKeys gave none, and checks them. A shared cache needs at least
// one key.
func (c *config) loadSharedKeys() error {
	if c.sharedKeys == nil {
		if env := strings.TrimSpace(os.Getenv(EnvSharedKeys)); env != "" {
			for i, part := range strings.Split(env, ",") {
				k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(part))
				if err != nil {
					return fmt.Errorf("lwa: %s: key %d is not standard base64", EnvSharedKeys, i+1)
				}
				c.sharedKeys = append(c.sharedKeys, k)
			}
		}
	}
	for i, k := range c.sharedKeys {
		if len(k) < MinSharedKeyLen {
			return fmt.Errorf("lwa: shared key %d has %d bytes; want at least %d random bytes (openssl rand -base64 32)", i+1, len(k), MinSharedKeyLen)
		}
	}
	if c.shared != nil && len(c.sharedKeys) == 0 {
		return errors.New("lwa: a shared cache needs the fleet's key: use core.WithSharedKeys or set " + EnvSharedKeys +
			" (comma-separated base64 keys of at least 32 bytes, the same on every replica)")
	}
	return nil
}
