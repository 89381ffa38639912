package lwatest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/go-lwa/lwa/core"
)

// Server is a fake Login with Amazon server listening on a loopback address.
// Create one with [NewServer] and stop it with [Server.Close].
//
// The zero value is not usable.
type Server struct {
	// URL is the base URL of the server, of the form http://127.0.0.1:PORT
	// with no trailing slash. Pass it to core.WithEndpoint.
	URL string

	ts        *httptest.Server
	closing   chan struct{} // closed by Close: releases delayed and hanging handlers
	closeOnce sync.Once

	mu       sync.Mutex
	advance  time.Duration           // added to the real clock, see Advance
	tokens   map[string]*grant       // raw token -> grant; never leaves the package
	appIDs   map[string]string       // client ID -> default app ID
	failures [numEndpoints]failState // injected failures per endpoint
	delays   [numEndpoints]time.Duration
	calls    [numEndpoints][]*Call // in arrival order, since the last ResetCalls

	// authorization code grant, see authorize.go and oauth_token.go
	apps     map[string]*App          // client ID -> registered app
	customer core.Profile             // who signs in on /ap/oa
	consent  Consent                  // how /ap/oa asks the customer
	codes    map[string]*authCode     // authorization code -> what it grants
	refresh  map[string]*refreshGrant // refresh token -> what it grants

	// code-based linking, see devices.go
	pairs        map[string]*devicePair // device code -> its code pair
	userCodes    map[string]*devicePair // user code -> the same
	pairLifetime time.Duration          // expires_in of new code pairs
	pollInterval time.Duration          // interval of new code pairs

	verifiers []*core.Verifier // from Verifier: told about Revoke and Expire
}

// NewServer starts and returns a new fake LWA server on 127.0.0.1, like
// httptest.NewServer. The caller should call Close when finished, to shut it
// down.
func NewServer() *Server {
	s := newServer()
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

// NewTLSServer starts and returns a new fake LWA server using TLS, like
// httptest.NewTLSServer. Its URL starts with https://; use [Server.Client]
// (or core.WithHTTPClient(srv.Client())) to trust its certificate.
func NewTLSServer() *Server {
	s := newServer()
	s.ts = httptest.NewTLSServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

func newServer() *Server {
	return &Server{
		closing:  make(chan struct{}),
		tokens:   make(map[string]*grant),
		appIDs:   make(map[string]string),
		apps:     make(map[string]*App),
		customer: DefaultCustomer(),
		codes:    make(map[string]*authCode),
		refresh:  make(map[string]*refreshGrant),

		pairs:        make(map[string]*devicePair),
		userCodes:    make(map[string]*devicePair),
		pairLifetime: DefaultCodePairLifetime,
		pollInterval: DefaultPollInterval,
	}
}

// Client returns an HTTP client configured for requests to the server: it
// trusts the certificate of a TLS server, and its idle connections are closed
// by Close. Using it instead of http.DefaultClient keeps goroutine-leak
// checkers quiet.
func (s *Server) Client() *http.Client {
	return s.ts.Client()
}

// Close shuts the server down and blocks until all its handlers have
// returned. Requests held by a Failure's Delay or Hang, or by SetDelay, are
// released at once (their clients see the connection close), so Close returns
// promptly even when a test left a hanging request behind. Close may be called
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		// Also drop connections whose request is still being read (a client
		// that stalls mid-request would otherwise block httptest's Close).
		s.ts.CloseClientConnections()
	})
	s.ts.Close()
}

// Now returns the server's current time: the real time plus everything
// passed to Advance. Token lifetimes, tokeninfo's "exp" and "iat" are
// computed from this clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	return time.Now().Add(s.advance)
}

// Advance moves the server's clock forward by d, so tests can make tokens
// expire without sleeping. It panics if d is negative. Verifiers from
// [Server.Verifier] run their caches on this clock, so their entries age
// with it; other verifiers' caches run on the real clock and still hold
// what they verified.
func (s *Server) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("lwatest: Advance(%v): the clock only moves forward", d))
	}
	s.mu.Lock()
	s.advance += d
	s.mu.Unlock()
}

// serveHTTP routes a request to one of the endpoints.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rid := newRequestID()
	setHeader(w.Header(), requestIDHeader, rid)

	// Amazon's own code-based linking guides spell the API paths
	// /auth/O2/…; Amazon answers both spellings.
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/auth/O2/"); ok {
		path = "/auth/o2/" + rest
	}
	var ep Endpoint
	switch path {
	case tokenInfoPath:
		ep = EndpointTokenInfo
	case profilePath:
		ep = EndpointProfile
	case authorizePath:
		ep = EndpointAuthorize
	case tokenPath:
		ep = EndpointToken
	case codePairPath:
		ep = EndpointCodePair
	case codeEntryPath:
		ep = EndpointCodeEntry
	default:
		writeError(w, http.StatusNotFound, "not_found", "The requested resource was not found.", rid)
		return
	}
	if h, ok := hostRegion(r.Host); ok && !h.servedOn(ep) {
		// Posing as Amazon (AmazonClient): the pages live on the sign-in
		// hosts, the API on the API hosts.
		writeError(w, http.StatusNotFound, "not_found", "The requested resource was not found on "+r.Host+".", rid)
		return
	}
	s.serveEndpoint(ep, w, r, rid)
}
