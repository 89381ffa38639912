package lwatest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-lwa/lwa/core"
)

// Code-based linking (CBL): how a TV, console or other device without a
// browser or keyboard signs its customer in, as Login with Amazon runs it:
//
//	POST /auth/o2/create/codepair   response_type=device_code&client_id=…&scope=profile
//	     → {"device_code":"…","user_code":"K7PXQM","verification_uri":"http://127.0.0.1:PORT/code",
//	        "expires_in":600,"interval":30}
//	the device shows user_code and verification_uri; the customer opens the
//	page on a phone or laptop, enters the code and allows (or denies) it
//	POST /auth/o2/token   grant_type=device_code&device_code=…&user_code=…
//	     → 400 {"error":"authorization_pending",…} until then, then
//	     → {"access_token":"Atza|…","token_type":"bearer","expires_in":3600,"refresh_token":"Atzr|…"}
//
// Amazon's requests differ from RFC 8628's: response_type=device_code on
// the code-pair request, grant_type=device_code (not the RFC's URN) and the
// user_code beside the device_code on the token request, which carries no
// client_id. The fake accepts exactly what Amazon documents (and a client_id
// that matches the code pair's); the RFC's URN grant type is refused with
// unsupported_grant_type, so that a device that works against the fake also
// works against Amazon.
//
// The answers of the token endpoint to a device code, in the order the fake
// checks them (every error is 400 with the JSON error body of the other
// token errors):
//
//	invalid_request         device_code or user_code missing, a parameter repeated
//	invalid_client (401)    a client_id or client_secret that is not a registered client's
//	invalid_grant           unknown device code, a user code or client_id that does not match it,
//	                        or a device code already exchanged (device codes are one-time)
//	expired_token           the code pair's expires_in has passed (on the server's clock)
//	slow_down               polled sooner than interval after the previous poll; the code
//	                        pair's interval grows by 5 seconds (RFC 8628 section 3.5)
//	access_denied           the customer denied the code
//	authorization_pending   the customer has not entered the code yet
//
// and 200 with the tokens once the customer allowed the code.

// DefaultCodePairLifetime is how long a code pair can be entered and
// polled for unless [Server.SetCodePairTiming] says otherwise: 600 seconds,
// the expires_in of Amazon's documented example.
const DefaultCodePairLifetime = 10 * time.Minute

// DefaultPollInterval is the interval a code pair asks the device to wait
// between polls unless [Server.SetCodePairTiming] says otherwise: 30
// seconds, as in Amazon's documented example.
const DefaultPollInterval = 30 * time.Second

// slowDownStep is how much a slow_down answer adds to a code pair's
// interval, as RFC 8628 section 3.5 tells the client.
const slowDownStep = 5 * time.Second

// pairStatus is where a code pair stands.
type pairStatus int

const (
	pairPending pairStatus = iota
	pairApproved
	pairDenied
)

// devicePair is what the server knows about one code pair.
type devicePair struct {
	clientID   string
	deviceCode string
	userCode   string
	scopes     []string
	expiresAt  time.Time     // server clock
	interval   time.Duration // grows with each slow_down
	lastPoll   time.Time     // server clock; zero before the first poll
	status     pairStatus
	profile    core.Profile // the customer who answered
	redeemed   bool         // exchanged for tokens: one-time
}

// codePairJSON is the code-pair endpoint's success body, fields in the
// order of Amazon's example.
type codePairJSON struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int64  `json:"interval"`
}

// CodePairURL returns the code-pair endpoint, URL +
// "/auth/o2/create/codepair" (https://api.amazon.com/auth/o2/create/codepair
// at Amazon): the DeviceAuthURL of an oauth2.Endpoint.
func (s *Server) CodePairURL() string { return s.URL + codePairPath }

// CodeEntryURL returns the code-entry page, URL + "/code": the
// verification_uri of the code pairs, where the customer enters a device's
// user code (https://www.amazon.com/code at Amazon).
func (s *Server) CodeEntryURL() string { return s.URL + codeEntryPath }

// SetCodePairTiming sets the expires_in and interval of the code pairs
// created from now on. Both run on the server's clock (see
// [Server.Advance]): a test can let a code expire, or wait out the interval
// between polls, without sleeping. A short real interval (one second) suits
// a device that polls on the real clock, such as x/oauth2's
// DeviceAccessToken. SetCodePairTiming panics unless both are whole
// seconds, at least one second.
func (s *Server) SetCodePairTiming(expiresIn, interval time.Duration) {
	for _, d := range []time.Duration{expiresIn, interval} {
		if d < time.Second || d%time.Second != 0 {
			panic(fmt.Sprintf("lwatest: SetCodePairTiming(%v, %v): want whole seconds, at least 1s", expiresIn, interval))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pairLifetime, s.pollInterval = expiresIn, interval
}

// ApproveCode acts as the customer of [Server.SetCustomer] entering
// userCode on the code-entry page and allowing it, for tests without a
// browser: the device's next poll (no sooner than its interval) gets the
// tokens. It returns an error if no code pair has that user code, or it has
// expired or was already answered.
func (s *Server) ApproveCode(userCode string) error {
	_, err := s.answerCode(userCode, true)
	return err
}

// DenyCode acts as the customer entering userCode and denying it: the
// device's next poll gets access_denied. It fails like ApproveCode.
func (s *Server) DenyCode(userCode string) error {
	_, err := s.answerCode(userCode, false)
	return err
}

// Errors of the code-entry page and of ApproveCode and DenyCode.
var (
	errUnknownCode  = errors.New("no code pair has this user code")
	errExpiredCode  = errors.New("the code pair has expired")
	errAnsweredCode = errors.New("the code pair was already answered")
)

// findPairLocked returns the pending, live code pair of userCode (any case,
// spaces and hyphens ignored). s.mu is held.
func (s *Server) findPairLocked(userCode string) (*devicePair, error) {
	p, ok := s.userCodes[normalizeUserCode(userCode)]
	switch {
	case !ok:
		return nil, errUnknownCode
	case !s.nowLocked().Before(p.expiresAt):
		return p, errExpiredCode
	case p.status != pairPending:
		return p, errAnsweredCode
	}
	return p, nil
}

// answerCode records the current customer's answer to userCode's code pair
// and returns a copy of the pair.
func (s *Server) answerCode(userCode string, approve bool) (devicePair, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.findPairLocked(userCode)
	if err != nil {
		return devicePair{}, fmt.Errorf("lwatest: user code %q: %w", userCode, err)
	}
	p.status, p.profile = pairDenied, s.customer
	if approve {
		p.status = pairApproved
	}
	return *p, nil
}

// normalizeUserCode is how the code-entry page reads what the customer
// typed: upper case, without spaces or hyphens.
func normalizeUserCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// codePair answers POST /auth/o2/create/codepair.
func (s *Server) codePair(w http.ResponseWriter, r *http.Request, rid string, call *Call) {
	serveForm(w, r, rid, func() (*codePairJSON, *tokenError) { return s.newCodePair(w, r, call) })
}

// newCodePair reads and checks a code-pair request and creates the pair.
func (s *Server) newCodePair(w http.ResponseWriter, r *http.Request, call *Call) (*codePairJSON, *tokenError) {
	form, terr := readForm(w, r)
	if terr != nil {
		return nil, terr
	}
	clientID, secret, how, terr := clientCredentials(r, form)
	s.mu.Lock()
	call.ClientAuth = how
	s.mu.Unlock()
	if terr != nil {
		return nil, terr
	}
	for _, k := range []string{"response_type", "scope"} {
		if form.Get(k) == "" {
			return nil, badRequest("invalid_request", "The request is missing a required parameter : "+k)
		}
	}
	if clientID == "" {
		return nil, badRequest("invalid_request", "The request is missing a required parameter : client_id")
	}
	if rt := form.Get("response_type"); rt != "device_code" {
		return nil, badRequest("unsupported_response_type", "The response_type "+rt+" is not supported; use device_code.")
	}
	app, terr := s.checkClient(clientID, secret, false)
	if terr != nil {
		return nil, terr
	}
	if !app.Device {
		return nil, badRequest("unauthorized_client", "The client is not authorized to use code-based linking: it is not a client ID of \"Other devices and platforms\".")
	}
	scopes, ok := parseScopes(form.Get("scope"))
	if !ok {
		return nil, badRequest("invalid_scope", "An unknown scope was requested; known scopes: profile, profile:user_id, postal_code.")
	}
	return s.createPair(clientID, scopes), nil
}

// createPair mints a code pair; with AutoApprove or AutoDeny the current
// customer answers it at once.
func (s *Server) createPair(clientID string, scopes []string) *codePairJSON {
	deviceCode := newRequestID() // a random UUID, like Amazon's example "B66fd882-7405-4e9a-bfb9"
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	for dc, p := range s.pairs { // forget pairs long expired
		if now.Sub(p.expiresAt) > s.pairLifetime {
			delete(s.pairs, dc)
			delete(s.userCodes, p.userCode)
		}
	}
	userCode := newUserCode()
	for s.userCodes[userCode] != nil {
		userCode = newUserCode()
	}
	p := &devicePair{
		clientID:   clientID,
		deviceCode: deviceCode,
		userCode:   userCode,
		scopes:     scopes,
		expiresAt:  now.Add(s.pairLifetime),
		interval:   s.pollInterval,
	}
	switch s.consent {
	case AutoApprove:
		p.status, p.profile = pairApproved, s.customer
	case AutoDeny:
		p.status, p.profile = pairDenied, s.customer
	}
	s.pairs[deviceCode] = p
	s.userCodes[userCode] = p
	return &codePairJSON{
		DeviceCode:      deviceCode,
		UserCode:        userCode,
		VerificationURI: s.CodeEntryURL(),
		ExpiresIn:       int64(s.pairLifetime / time.Second),
		Interval:        int64(s.pollInterval / time.Second),
	}
}

// newUserCode returns 6 random characters from an alphabet without the
// look-alikes 0/O and 1/I, the shape of Amazon's user codes ("AAYJHL").
func newUserCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // 32 symbols: no modulo bias
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// pollTolerance is how much sooner than its interval a poll may come
// without being told to slow down: a quarter of the interval, at most one
// second. It absorbs the network jitter of a device that polls on a ticker
// (x/oauth2's DeviceAccessToken does).
func pollTolerance(interval time.Duration) time.Duration {
	return min(interval/4, time.Second)
}

// redeemDeviceCode runs Amazon's device_code grant (see the top of this
// file for its answers). clientID and secret are optional.
func (s *Server) redeemDeviceCode(clientID, secret string, form url.Values) (*tokenJSON, *tokenError) {
	if clientID != "" || secret != "" {
		if _, terr := s.checkClient(clientID, secret, false); terr != nil {
			return nil, terr
		}
	}
	deviceCode, userCode := form.Get("device_code"), form.Get("user_code")
	if deviceCode == "" {
		return nil, badRequest("invalid_request", "The request is missing a required parameter : device_code")
	}
	if userCode == "" {
		return nil, badRequest("invalid_request", "The request is missing a required parameter : user_code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pairs[deviceCode]
	now := s.nowLocked()
	switch {
	case !ok || p.userCode != userCode || (clientID != "" && clientID != p.clientID):
		return nil, badRequest("invalid_grant", "The device code is invalid, or does not match the user code or the client.")
	case p.redeemed:
		return nil, badRequest("invalid_grant", "The device code has already been exchanged for tokens.")
	case !now.Before(p.expiresAt):
		return nil, badRequest("expired_token", "The device code has expired; request a new code pair.")
	case !p.lastPoll.IsZero() && now.Sub(p.lastPoll) < p.interval-pollTolerance(p.interval):
		p.lastPoll = now
		p.interval += slowDownStep
		return nil, badRequest("slow_down", "The device is polling too quickly; wait "+strconv.Itoa(int(p.interval/time.Second))+" seconds between requests.")
	}
	p.lastPoll = now
	switch p.status {
	case pairDenied:
		return nil, badRequest("access_denied", "The customer denied the request.")
	case pairPending:
		return nil, badRequest("authorization_pending", "The customer has not yet entered the user code.")
	}
	p.redeemed = true
	return s.mintLocked(p.clientID, p.profile, p.scopes, slices.Clone(p.scopes), &session{}), nil
}
