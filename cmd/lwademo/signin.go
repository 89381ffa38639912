package main

// The sign-in's server side: /login, /callback and the hand-over of the
// access token to the page (/session/claim, /session/handoff). The design
// is explained at the top of web.go.

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/stdlwa"
)

const (
	loginCookie    = "lwademo_login"   // sealed loginState, Path=/callback
	handoffCookie  = "lwademo_handoff" // sealed handoff, Path=/session
	loginLifetime  = 10 * time.Minute  // from /login to /callback
	handoffTimeout = time.Minute       // from /callback (or /session/handoff) to the page's claim
	maxSessionBody = 4 << 10           // the JSON bodies of /session/*
)

// loginState is a sign-in between /login and /callback, sealed in the
// loginCookie of the browser that started it.
type loginState struct {
	State    string `json:"s"` // must equal the callback's state parameter
	Verifier secret `json:"v"` // PKCE code_verifier
	Origin   string `json:"o"` // where the page that started it lives
	Expires  int64  `json:"e"` // Unix seconds
}

func (l *loginState) expiry() int64 { return l.Expires }

// LogValue keeps the verifier out of slog's JSON output, which would
// otherwise encode the struct with encoding/json.
func (l loginState) LogValue() slog.Value {
	return slog.GroupValue(slog.String("state", l.State), slog.String("origin", l.Origin), slog.Int64("expires", l.Expires))
}

// handoff is an access token on its way to the page, sealed in the
// handoffCookie of the browser that signed in.
type handoff struct {
	Nonce        string `json:"n"` // also in the page's URL fragment
	Token        secret `json:"t"`
	Origin       string `json:"o"` // the only origin that may claim it
	TokenExpires int64  `json:"x"` // the token's own expiry, Unix seconds; 0 if unknown
	Expires      int64  `json:"e"` // the hand-over's, Unix seconds
}

func (h *handoff) expiry() int64 { return h.Expires }

// LogValue keeps the token out of slog's JSON output.
func (h handoff) LogValue() slog.Value {
	return slog.GroupValue(slog.String("origin", h.Origin), slog.Int64("expires", h.Expires))
}

// login starts a sign-in for the page at ?origin= (one of ours; default the
// API's own). It keeps nothing: state, PKCE verifier and origin go into a
// sealed cookie of this browser.
func (s *site) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.conf == nil {
		http.Error(w, s.why, http.StatusServiceUnavailable)
		return
	}
	origin := r.URL.Query().Get("origin")
	if origin == "" {
		origin = s.api
	}
	if !s.origins[origin] {
		http.Error(w, "unknown origin", http.StatusBadRequest)
		return
	}
	st := &loginState{
		State:    randomString(32),
		Verifier: secret(oauth2.GenerateVerifier()),
		Origin:   origin,
		Expires:  s.seal.now().Add(loginLifetime).Unix(),
	}
	value, err := s.seal.seal(loginCookie, st)
	if err != nil {
		http.Error(w, "could not start the sign-in", http.StatusInternalServerError)
		return
	}
	s.setCookie(w, loginCookie, "/callback", value, loginLifetime)
	http.Redirect(w, r, s.conf.AuthCodeURL(st.State, oauth2.S256ChallengeOption(string(st.Verifier))), http.StatusFound)
}

// callback is where Amazon sends the customer back. It goes on only with
// the sealed cookie of the browser that started this sign-in, whose state
// matches the state parameter; it clears that cookie whatever happens, so a
// sign-in comes back once.
func (s *site) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.clearCookie(w, loginCookie, "/callback")
	if s.conf == nil {
		http.Error(w, s.why, http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	var st loginState
	c, err := r.Cookie(loginCookie)
	if err == nil {
		err = s.seal.open(loginCookie, c.Value, &st)
	}
	if err != nil || subtle.ConstantTimeCompare([]byte(st.State), []byte(q.Get("state"))) != 1 {
		s.backToPage(w, r, s.api, "error", "invalid_state")
		return
	}
	if e := q.Get("error"); e != "" { // the customer said no, or Amazon refused the request
		s.backToPage(w, r, st.Origin, "error", e)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), oauth2.HTTPClient, s.hc), 10*time.Second)
	defer cancel()
	tok, err := s.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(string(st.Verifier)))
	if err != nil {
		code := "server_error"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			code = re.ErrorCode
		}
		slog.Warn("lwademo: code exchange failed", "error_code", code)
		s.backToPage(w, r, st.Origin, "error", code)
		return
	}
	// The access token goes to the page through a sealed cookie of this
	// browser, never through the URL; the refresh token stays here (this
	// demo does not use it).
	var exp int64
	if !tok.Expiry.IsZero() {
		exp = tok.Expiry.Unix()
	}
	nonce, err := s.startHandoff(w, secret(tok.AccessToken), st.Origin, exp)
	if err != nil {
		s.backToPage(w, r, st.Origin, "error", "server_error")
		return
	}
	s.backToPage(w, r, st.Origin, "handoff", nonce)
}

// backToPage sends the browser to the page at origin with one key=value in
// the URL fragment: the hand-over's nonce, or an error code.
func (s *site) backToPage(w http.ResponseWriter, r *http.Request, origin, key, value string) {
	http.Redirect(w, r, origin+"/app#"+url.Values{key: {value}}.Encode(), http.StatusSeeOther)
}

// startHandoff seals tok for the page at origin into this browser's
// handoffCookie, and returns the nonce the page must show to claim it.
func (s *site) startHandoff(w http.ResponseWriter, tok secret, origin string, tokenExpires int64) (string, error) {
	h := &handoff{
		Nonce:        randomString(16),
		Token:        tok,
		Origin:       origin,
		TokenExpires: tokenExpires,
		Expires:      s.seal.now().Add(handoffTimeout).Unix(),
	}
	value, err := s.seal.seal(handoffCookie, h)
	if err != nil {
		return "", err
	}
	s.setCookie(w, handoffCookie, "/session", value, handoffTimeout)
	return h.Nonce, nil
}

// claimRequest is the body of POST /session/claim.
type claimRequest struct {
	Handoff string `json:"handoff"`
}

// claimResponse is the answer of POST /session/claim.
type claimResponse struct {
	AccessToken secret `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
}

// LogValue keeps the token out of slog's JSON output.
func (c claimResponse) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token_type", c.TokenType), slog.Int64("expires_in", c.ExpiresIn))
}

// claim hands the page the token its browser's sign-in produced: the
// handoffCookie must open, its nonce must be the one the page got in its
// fragment, and the request must come from the page's own origin. The
// cookie is cleared whatever happens: a hand-over is claimed once.
func (s *site) claim(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.clearCookie(w, handoffCookie, "/session")
	origin := r.Header.Get("Origin")
	var req claimRequest
	if !s.origins[origin] || readJSON(w, r, &req) != nil {
		sessionError(w, http.StatusForbidden, "invalid_request", "Only the demo's own pages may claim a sign-in.")
		return
	}
	var h handoff
	c, err := r.Cookie(handoffCookie)
	if err == nil {
		err = s.seal.open(handoffCookie, c.Value, &h)
	}
	if err != nil || subtle.ConstantTimeCompare([]byte(h.Nonce), []byte(req.Handoff)) != 1 || h.Origin != origin {
		sessionError(w, http.StatusForbidden, "invalid_handoff", "No sign-in of this browser is waiting for this page.")
		return
	}
	resp := claimResponse{AccessToken: h.Token, TokenType: "bearer"}
	if h.TokenExpires != 0 {
		resp.ExpiresIn = max(h.TokenExpires-s.seal.now().Unix(), 0)
	}
	writeJSON(w, resp)
}

// handoffRequest is the body of POST /session/handoff.
type handoffRequest struct {
	Origin string `json:"origin"`
}

// handoffTo is POST /session/handoff, behind the lwa middleware: the page
// hands its own (verified) token to the same page on our other origin,
// through this browser's handoffCookie, as /callback does. It answers the
// nonce the other page must show.
func (s *site) handoffTo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var req handoffRequest
	if !s.origins[r.Header.Get("Origin")] || readJSON(w, r, &req) != nil || !s.origins[req.Origin] {
		sessionError(w, http.StatusForbidden, "invalid_request", "Only the demo's own pages may hand a sign-in over, to the demo's own origins.")
		return
	}
	tok, ok := stdlwa.Token(r)
	if !ok { // cannot happen behind the middleware
		noProfile(w)
		return
	}
	var exp int64
	if info, ok := stdlwa.TokenInfo(r); ok && !info.ExpiresAt.IsZero() {
		exp = info.ExpiresAt.Unix()
	}
	nonce, err := s.startHandoff(w, secret(tok), req.Origin, exp)
	if err != nil {
		sessionError(w, http.StatusInternalServerError, "server_error", "The sign-in could not be handed over.")
		return
	}
	writeJSON(w, map[string]string{"handoff": nonce})
}

// logout revokes the caller's (verified) token.
func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	tok, ok := stdlwa.Token(r)
	if !ok { // cannot happen behind the middleware
		noProfile(w)
		return
	}
	if s.fake != nil {
		// Offline, also end the token at the fake Amazon, as a customer
		// removing the app's access would, and drop this server's cached
		// verdict so that /me asks again.
		s.fake.Revoke(tok)
		s.v.Forget(tok)
	}
	// What stops the token here, and on every replica sharing the cache.
	if err := s.v.Revoke(r.Context(), tok); err != nil {
		slog.Warn("lwademo: revoke failed", "error", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, `{"error":"server_error","error_description":"The token could not be revoked on every replica."}`+"\n")
		return
	}
	writeJSON(w, map[string]bool{"signed_out": true})
}

// setCookie sets one of the sign-in's cookies: HttpOnly (no script reads
// it), SameSite=Lax (a cross-site request never carries it, except the
// top-level navigation back from Amazon to /callback), Secure on HTTPS.
func (s *site) setCookie(w http.ResponseWriter, name, path, value string, lifetime time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: int(lifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.api, "https://"),
	})
}

func (s *site) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.api, "https://"),
	})
}

// readJSON decodes the request's small JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errors.New("not JSON")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSessionBody))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// sessionError answers a refused /session request.
func sessionError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
