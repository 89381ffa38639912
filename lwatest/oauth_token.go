package lwatest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-lwa/lwa/core"
)

// maxFormBytes bounds the form bodies the server reads.
const maxFormBytes = 64 << 10

// refreshGrant is what the server knows about one refresh token.
//
// Refresh tokens rotate: a successful refresh_token grant answers with a new
// refresh token and retires the one it used. Presenting a retired refresh
// token again is treated as a replay (RFC 9700 section 4.14.2): it fails
// with invalid_grant and revokes every token of its authorization. Amazon
// also answers a refresh with a new refresh token; a client that always
// keeps the newest one, as golang.org/x/oauth2 does, works with both.
type refreshGrant struct {
	clientID string
	profile  core.Profile
	scopes   []string
	revoked  bool // by Revoke, or with its session
	used     bool // rotated: exchanged once already
	session  *session
}

// tokenJSON is the token endpoint's success body, fields in Amazon's order.
type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// tokenError is a refusal of the token endpoint.
type tokenError struct {
	status int
	code   string
	desc   string
}

func badRequest(code, desc string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: code, desc: desc}
}

// token answers POST /auth/o2/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request, rid string, call *Call) {
	serveForm(w, r, rid, func() (any, *tokenError) { return s.exchange(w, r, call) })
}

// serveForm answers a POST of an OAuth form (the token and code-pair
// endpoints): no caching, POST only, the answer of run as JSON or its
// error in Amazon's shape.
func serveForm[T any](w http.ResponseWriter, r *http.Request, rid string, run func() (T, *tokenError)) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		h.Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "The request method "+r.Method+" is not allowed; use POST.", rid)
		return
	}
	answer, terr := run()
	if terr != nil {
		if terr.code == "invalid_client" && r.Header.Get("Authorization") != "" {
			h.Set("WWW-Authenticate", `Basic realm="lwatest"`)
		}
		writeError(w, terr.status, terr.code, terr.desc, rid)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", answer)
}

// readForm reads an OAuth form body: application/x-www-form-urlencoded,
// bounded, each parameter at most once.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *tokenError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "The request body must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "The request body could not be read.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, badRequest("invalid_request", "The parameter "+k+" was given more than once.")
		}
	}
	return r.PostForm, nil
}

// exchange reads and checks a token request and runs its grant.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request, call *Call) (*tokenJSON, *tokenError) {
	form, terr := readForm(w, r)
	if terr != nil {
		return nil, terr
	}
	clientID, secret, how, terr := clientCredentials(r, form)
	s.mu.Lock()
	call.GrantType, call.ClientAuth = form.Get("grant_type"), how
	s.mu.Unlock()
	if terr != nil {
		return nil, terr
	}
	if form.Get("grant_type") == "device_code" {
		// Amazon's device token request names no client: the device code
		// does. A client that identifies itself anyway must be the one the
		// code pair was issued to.
		return s.redeemDeviceCode(clientID, secret, form)
	}
	if terr := s.authenticateClient(clientID, secret); terr != nil {
		return nil, terr
	}

	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		return s.redeemCode(clientID, form)
	case "refresh_token":
		return s.redeemRefresh(clientID, form)
	case "":
		return nil, badRequest("invalid_request", "The request is missing a required parameter : grant_type")
	default:
		return nil, badRequest("unsupported_grant_type", "The grant_type "+gt+" is not supported.")
	}
}

// clientCredentials reads the client's credentials: HTTP Basic (client ID
// and secret form-urlencoded, as RFC 6749 section 2.3.1 says) or the
// client_id and client_secret form fields, never both.
func clientCredentials(r *http.Request, form url.Values) (id, secret, how string, terr *tokenError) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	if r.Header.Get("Authorization") == "" {
		switch {
		case formSecret != "":
			how = "form"
		case formID != "":
			how = "none"
		}
		return formID, formSecret, how, nil
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", "", "", &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: the Authorization header is not HTTP Basic."}
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	switch {
	case err1 != nil || err2 != nil:
		return "", "", "basic", &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: malformed Basic credentials."}
	case formSecret != "":
		return "", "", "basic", badRequest("invalid_request", "The client authenticated in more than one way (HTTP Basic and client_secret).")
	case formID != "" && formID != id:
		return "", "", "basic", badRequest("invalid_request", "The client_id differs from the HTTP Basic user name.")
	}
	how = "basic"
	if secret == "" {
		how = "none" // a public client that sent "client_id:" as Basic credentials
	}
	return id, secret, how, nil
}

// authenticateClient checks a client's credentials against its
// registration.
func (s *Server) authenticateClient(clientID, secret string) *tokenError {
	_, terr := s.checkClient(clientID, secret, true)
	return terr
}

// checkClient checks that clientID is registered and that secret is its
// secret. With secretRequired false, a confidential client may leave the
// secret out (code-based linking asks a device for none); a secret it sends
// must still be right. It returns a copy of the app.
func (s *Server) checkClient(clientID, secret string, secretRequired bool) (App, *tokenError) {
	if clientID == "" {
		return App{}, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: no client_id."}
	}
	s.mu.Lock()
	app, ok := s.apps[clientID]
	var a App
	if ok {
		a = *app
	}
	s.mu.Unlock()
	want := a.ClientSecret
	switch {
	case !ok:
		return a, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: unknown client."}
	case want == "" && secret != "":
		return a, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: this public client has no secret."}
	case want != "" && secret == "" && !secretRequired:
		return a, nil
	case want != "" && secret == "":
		return a, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: client_secret is missing."}
	case subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1:
		return a, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed: wrong client_secret."}
	}
	return a, nil
}

// redeemCode runs the authorization_code grant. A code is single-use: its
// first successful exchange consumes it; presenting it again fails and
// revokes the tokens it gave (RFC 6749 section 4.1.2). Failed attempts do
// not consume it.
func (s *Server) redeemCode(clientID string, form url.Values) (*tokenJSON, *tokenError) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	if code == "" {
		return nil, badRequest("invalid_request", "The request is missing a required parameter : code")
	}
	if redirectURI == "" {
		return nil, badRequest("invalid_request", "The request is missing a required parameter : redirect_uri")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	switch {
	case !ok || c.clientID != clientID:
		return nil, badRequest("invalid_grant", "The authorization code is invalid or was issued to another client.")
	case c.used:
		s.revokeSessionLocked(c.session)
		return nil, badRequest("invalid_grant", "The authorization code has already been used; the tokens it gave are revoked.")
	case !s.nowLocked().Before(c.expiresAt):
		return nil, badRequest("invalid_grant", "The authorization code has expired.")
	case redirectURI != c.redirectURI:
		return nil, badRequest("invalid_grant", "The redirect_uri does not match the one of the authorization request.")
	}
	if msg := checkVerifier(c, verifier); msg != "" {
		return nil, badRequest("invalid_grant", msg)
	}
	c.used = true
	c.session = &session{}
	return s.mintLocked(clientID, c.profile, c.scopes, c.scopes, c.session), nil
}

// checkVerifier checks the PKCE code_verifier against the code's challenge
// (RFC 7636 section 4.6) and returns what is wrong, or "".
func checkVerifier(c *authCode, verifier string) string {
	switch {
	case c.challenge == "" && verifier == "":
		return ""
	case c.challenge == "":
		return "A code_verifier was sent but the authorization request had no code_challenge."
	case verifier == "":
		return "The code_verifier is missing (the authorization request had a code_challenge)."
	case !pkceRE.MatchString(verifier):
		return "The code_verifier is malformed: 43 to 128 characters from [A-Za-z0-9-._~]."
	}
	got := verifier
	if c.method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		got = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.challenge)) != 1 {
		return "The code_verifier does not match the code_challenge."
	}
	return ""
}

// redeemRefresh runs the refresh_token grant: a new access token and a new
// refresh token; the refresh token used is retired (see refreshGrant). An
// optional scope parameter narrows the new access token's scopes to a
// subset of those granted.
func (s *Server) redeemRefresh(clientID string, form url.Values) (*tokenJSON, *tokenError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, badRequest("invalid_request", "The request is missing a required parameter : refresh_token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[rt]
	switch {
	case !ok || g.clientID != clientID:
		return nil, badRequest("invalid_grant", "The refresh token is invalid or was issued to another client.")
	case g.revoked:
		return nil, badRequest("invalid_grant", "The refresh token has been revoked.")
	case g.used:
		s.revokeSessionLocked(g.session)
		return nil, badRequest("invalid_grant", "The refresh token has already been used; every token of this authorization is revoked.")
	}
	scopes := g.scopes
	if raw := form.Get("scope"); raw != "" {
		asked, ok := parseScopes(raw)
		if !ok || slices.ContainsFunc(asked, func(sc string) bool { return !slices.Contains(g.scopes, sc) }) {
			return nil, badRequest("invalid_scope", "The requested scope exceeds the scope granted.")
		}
		scopes = asked
	}
	g.used = true
	return s.mintLocked(clientID, g.profile, scopes, g.scopes, g.session), nil
}

// mintLocked issues an access token with accessScopes and a refresh token
// that keeps grantScopes, both recorded in sess. s.mu is held.
func (s *Server) mintLocked(clientID string, p core.Profile, accessScopes, grantScopes []string, sess *session) *tokenJSON {
	at, rt := newAccessToken(), newRefreshToken()
	s.issueLocked(at, clientID, p, tokenConfig{scopes: slices.Clone(accessScopes), lifetime: DefaultLifetime})
	s.refresh[rt] = &refreshGrant{clientID: clientID, profile: p, scopes: grantScopes, session: sess}
	sess.tokens = append(sess.tokens, at, rt)
	return &tokenJSON{
		AccessToken:  at,
		TokenType:    "bearer",
		ExpiresIn:    int64(DefaultLifetime / time.Second),
		RefreshToken: rt,
	}
}

// revokeSessionLocked revokes every token of sess. s.mu is held.
func (s *Server) revokeSessionLocked(sess *session) {
	if sess == nil {
		return
	}
	for _, t := range sess.tokens {
		if g, ok := s.tokens[t]; ok {
			g.revoked = true
		}
		if g, ok := s.refresh[t]; ok {
			g.revoked = true
		}
	}
}

// newRefreshToken returns "Atzr|" and 400 random base64url characters.
func newRefreshToken() string {
	b := make([]byte, tokenRandomBytes)
	_, _ = rand.Read(b)
	return "Atzr|" + base64.RawURLEncoding.EncodeToString(b)
}
