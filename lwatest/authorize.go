package lwatest

import (
	"crypto/rand"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-lwa/lwa/core"
)

// The authorization code grant, as Login with Amazon runs it:
//
//	GET  /ap/oa?client_id=…&scope=profile&response_type=code&redirect_uri=…&state=…
//	     [&code_challenge=…&code_challenge_method=S256]
//	     → the consent page (or, with AutoApprove, straight back to redirect_uri)
//	POST /ap/oa (the consent page's form) → 302 redirect_uri?code=…&scope=…&state=…
//	POST /auth/o2/token grant_type=authorization_code&code=…&redirect_uri=…[&code_verifier=…]
//	     → {"access_token":"Atza|…","token_type":"bearer","expires_in":3600,"refresh_token":"Atzr|…"}
//
// See oauth_token.go for the token endpoint.

// CodeLifetime is how long an authorization code from /ap/oa can be
// exchanged, on the server's clock (see [Server.Advance]): 5 minutes, like
// Amazon's.
const CodeLifetime = 5 * time.Minute

// App is a Login with Amazon client (a "security profile" in Amazon's
// developer console) registered with the fake's authorization server by
// [Server.RegisterApp].
type App struct {
	// ClientID is the app's client ID: the client_id of its requests and
	// the "aud" of the access tokens it obtains.
	ClientID string

	// ClientSecret authenticates a confidential client (a web server) at
	// the token endpoint, as HTTP Basic credentials or as the client_secret
	// form field. Empty registers a public client (a browser or mobile app
	// that cannot keep a secret): it must use PKCE (a code_challenge on
	// /ap/oa) and identifies itself at the token endpoint with its
	// client_id alone.
	ClientSecret string

	// RedirectURIs are the app's "Allowed Return URLs". The redirect_uri of
	// an authorization request must be exactly one of them (no prefix or
	// pattern matching). At least one is required, unless Device is set.
	RedirectURIs []string

	// Name is the app's name on the consent page. Empty means ClientID.
	Name string

	// Device marks the client ID of the security profile's "Other devices
	// and platforms" settings: a TV, console or other device that signs in
	// with code-based linking (see [Server.CodePairURL]). Only a device
	// client may ask for a code pair; any other gets 400
	// unauthorized_client. A device client needs no RedirectURIs, and
	// usually has no ClientSecret (a device cannot keep one): it refreshes
	// its tokens with its client_id alone.
	Device bool
}

// RegisterApp registers app with the authorization server, replacing any app
// with the same client ID. Requests that name an unregistered client ID get
// an error page from /ap/oa and 401 invalid_client from the token endpoint.
//
// RegisterApp panics if app.ClientID is empty, if app has no redirect URI
// and is not a Device, or if a redirect URI is not an absolute http(s) URL
// without a fragment.
func (s *Server) RegisterApp(app App) {
	if app.ClientID == "" {
		panic("lwatest: RegisterApp: empty ClientID")
	}
	if len(app.RedirectURIs) == 0 && !app.Device {
		panic("lwatest: RegisterApp: no RedirectURIs")
	}
	for _, ru := range app.RedirectURIs {
		u, err := url.Parse(ru)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || strings.Contains(ru, "#") {
			panic(fmt.Sprintf("lwatest: RegisterApp: redirect URI %q is not an absolute http(s) URL without a fragment", ru))
		}
	}
	app.RedirectURIs = slices.Clone(app.RedirectURIs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app.ClientID] = &app
}

// DefaultCustomer returns the customer who signs in on /ap/oa until
// [Server.SetCustomer] names another.
func DefaultCustomer() core.Profile {
	return core.Profile{
		UserID:     "amzn1.account.LWATESTCUSTOMER0000000000000",
		Email:      "customer@example.com",
		Name:       "Test Customer",
		PostalCode: "98052",
	}
}

// SetCustomer makes p the customer signed in at the fake Amazon: the consent
// page shows p, and the authorization codes approved from now on (and the
// tokens they give) belong to p. If p.UserID is empty, SetCustomer generates
// one ([Server.Customer] reports it). Codes already approved keep their
// customer.
func (s *Server) SetCustomer(p core.Profile) {
	if p.UserID == "" {
		p.UserID = newUserID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customer = p
}

// Customer returns the customer who signs in on /ap/oa.
func (s *Server) Customer() core.Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.customer
}

// Consent says how GET /ap/oa answers a valid authorization request. See
// [Server.SetConsent].
type Consent int

const (
	// AskConsent shows the consent page; the customer's click on Allow or
	// Deny posts the answer back to /ap/oa. The default.
	AskConsent Consent = iota
	// AutoApprove redirects straight back with a code, as if the customer
	// had clicked Allow: for tests without a browser. It also allows every
	// new code pair of code-based linking at once, as if the customer had
	// entered its user code: the device's first poll gets the tokens.
	AutoApprove
	// AutoDeny redirects straight back with error=access_denied, as if the
	// customer had clicked Deny, and denies every new code pair at once.
	AutoDeny
)

// SetConsent sets how GET /ap/oa answers valid authorization requests, and
// how the customer answers new code pairs, from now on. Invalid requests
// are refused whatever the mode; code pairs created earlier keep their
// answer (or wait for one).
func (s *Server) SetConsent(c Consent) {
	if c < AskConsent || c > AutoDeny {
		panic(fmt.Sprintf("lwatest: SetConsent: unknown Consent %d", int(c)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consent = c
}

// AuthURL returns the authorization endpoint, URL + "/ap/oa": the AuthURL of
// an oauth2.Endpoint (https://www.amazon.com/ap/oa at Amazon).
func (s *Server) AuthURL() string { return s.URL + authorizePath }

// TokenURL returns the token endpoint, URL + "/auth/o2/token": the TokenURL
// of an oauth2.Endpoint (https://api.amazon.com/auth/o2/token at Amazon).
func (s *Server) TokenURL() string { return s.URL + tokenPath }

// knownScopes are the scopes the fake grants; they decide the profile
// endpoint's fields (see WithScopes).
var knownScopes = []string{"profile", "profile:user_id", "postal_code"}

// pkceRE is RFC 7636's syntax of a code_verifier, and of a code_challenge.
var pkceRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// authCode is what the server knows about one authorization code.
type authCode struct {
	clientID    string
	redirectURI string
	challenge   string // PKCE code_challenge, "" if none
	method      string // "S256" or "plain" when challenge is set
	scopes      []string
	profile     core.Profile
	expiresAt   time.Time // server clock
	used        bool
	session     *session // the tokens it gave, once used
}

// session holds every token issued under one authorization (a code and the
// refresh tokens descended from it), so that a replayed code or refresh
// token can revoke them all.
type session struct {
	tokens []string
}

// authRequest is a validated authorization request.
type authRequest struct {
	app         App
	redirectURI string
	scopes      []string
	state       string
	challenge   string
	method      string
}

// authError is a refused authorization request: shown on an error page
// when the client or redirect URI cannot be trusted (page), redirected back
// to the client otherwise, as RFC 6749 section 4.1.2.1 says.
type authError struct {
	page bool
	code string
	desc string
}

// authorize answers /ap/oa: GET is the authorization request, POST the
// consent page's answer.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, rid string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")

	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			writeErrorPage(w, http.StatusBadRequest, "invalid_request", "The form could not be read.", rid)
			return
		}
		params = r.PostForm
	default:
		h.Set("Allow", "GET, POST")
		writeErrorPage(w, http.StatusMethodNotAllowed, "invalid_request", "The request method "+r.Method+" is not allowed.", rid)
		return
	}

	req, aerr := s.parseAuthRequest(params)
	if aerr != nil {
		if aerr.page {
			writeErrorPage(w, http.StatusBadRequest, aerr.code, aerr.desc, rid)
			return
		}
		redirectBack(w, req.redirectURI, url.Values{"error": {aerr.code}, "error_description": {aerr.desc}}, req.state)
		return
	}

	s.mu.Lock()
	consent, customer := s.consent, s.customer
	s.mu.Unlock()

	decision := ""
	switch {
	case r.Method == http.MethodPost:
		decision = params.Get("decision")
	case consent == AutoApprove:
		decision = "approve"
	case consent == AutoDeny:
		decision = "deny"
	default:
		writeConsentPage(w, req, customer)
		return
	}
	switch decision {
	case "approve":
		code := s.newCode(req)
		redirectBack(w, req.redirectURI, url.Values{"code": {code}, "scope": {strings.Join(req.scopes, " ")}}, req.state)
	case "deny":
		redirectBack(w, req.redirectURI, url.Values{
			"error":             {"access_denied"},
			"error_description": {"The user denied your request."},
		}, req.state)
	default:
		writeErrorPage(w, http.StatusBadRequest, "invalid_request", `The consent form's decision must be "approve" or "deny".`, rid)
	}
}

// parseAuthRequest validates an authorization request. On an error that is
// not shown on a page, the returned request carries the redirect URI and
// state to answer with.
func (s *Server) parseAuthRequest(params url.Values) (*authRequest, *authError) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(params[k]) > 1 {
			return nil, &authError{page: true, code: "invalid_request", desc: "The parameter " + k + " was given more than once."}
		}
	}
	clientID, redirectURI := params.Get("client_id"), params.Get("redirect_uri")
	if clientID == "" {
		return nil, &authError{page: true, code: "invalid_request", desc: "The request is missing a required parameter : client_id"}
	}
	s.mu.Lock()
	app, ok := s.apps[clientID]
	var a App
	if ok {
		a = *app
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, &authError{page: true, code: "invalid_client", desc: "The client_id is not registered: unknown client."}
	case redirectURI == "":
		return nil, &authError{page: true, code: "invalid_request", desc: "The request is missing a required parameter : redirect_uri"}
	case !slices.Contains(a.RedirectURIs, redirectURI):
		return nil, &authError{page: true, code: "invalid_request", desc: "The redirect_uri is not one of the app's allowed return URLs."}
	}

	// From here on the client and its redirect URI are trusted: errors go
	// back to it.
	req := &authRequest{app: a, redirectURI: redirectURI, state: params.Get("state")}
	fail := func(code, desc string) (*authRequest, *authError) {
		return req, &authError{code: code, desc: desc}
	}
	for _, k := range []string{"response_type", "scope", "state", "code_challenge", "code_challenge_method"} {
		if len(params[k]) > 1 {
			return fail("invalid_request", "The parameter "+k+" was given more than once.")
		}
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return fail("invalid_request", "The request is missing a required parameter : response_type")
	default:
		return fail("unsupported_response_type", "The response_type "+rt+" is not supported; use code.")
	}
	scopes, ok := parseScopes(params.Get("scope"))
	if !ok {
		return fail("invalid_scope", "An unknown scope was requested; known scopes: profile, profile:user_id, postal_code.")
	}
	req.scopes = scopes

	req.challenge, req.method = params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case req.challenge == "" && req.method != "":
		return fail("invalid_request", "code_challenge_method was given without a code_challenge.")
	case req.challenge == "" && a.ClientSecret == "":
		return fail("invalid_request", "A public client (no client secret) must use PKCE: code_challenge is required.")
	case req.challenge == "":
	case req.method == "":
		req.method = "plain" // RFC 7636 section 4.3
		fallthrough
	default:
		if req.method != "S256" && req.method != "plain" {
			return fail("invalid_request", "The code_challenge_method "+req.method+" is not supported; use S256 or plain.")
		}
		if !pkceRE.MatchString(req.challenge) {
			return fail("invalid_request", "The code_challenge is malformed: 43 to 128 characters from [A-Za-z0-9-._~].")
		}
	}
	return req, nil
}

// parseScopes splits a space-separated scope list, dropping duplicates. It
// reports false when the list is empty or names a scope the fake does not
// know.
func parseScopes(raw string) ([]string, bool) {
	var scopes []string
	for sc := range strings.FieldsSeq(raw) {
		if !slices.Contains(knownScopes, sc) {
			return nil, false
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return scopes, len(scopes) > 0
}

// newCode mints an authorization code for the current customer.
func (s *Server) newCode(req *authRequest) string {
	code := newCodeString()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	for c, ac := range s.codes { // forget codes long expired
		if now.Sub(ac.expiresAt) > CodeLifetime {
			delete(s.codes, c)
		}
	}
	s.codes[code] = &authCode{
		clientID:    req.app.ClientID,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		method:      req.method,
		scopes:      req.scopes,
		profile:     s.customer,
		expiresAt:   now.Add(CodeLifetime),
	}
	return code
}

// newCodeString returns "AN" and 20 random letters, the shape of Amazon's
// authorization codes.
func newCodeString() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "AN" + string(b)
}

// redirectBack answers 302 to redirectURI with params (and state, if not
// empty) added to its query.
func redirectBack(w http.ResponseWriter, redirectURI string, params url.Values, state string) {
	u, err := url.Parse(redirectURI) // registered, so valid
	if err != nil {
		panic("lwatest: " + err.Error())
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

// --- pages ---

const pageStyle = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; background: #f3f3f3; color: #0f1111; }
  main { max-width: 26rem; margin: 3rem auto; background: #fff; border: 1px solid #d5d9d9; border-radius: 8px; padding: 1.5rem 1.75rem; }
  .brand { margin: 0 0 1rem; font-weight: 700; font-size: 1.4rem; letter-spacing: -0.02em; }
  .brand small { display: block; font-weight: 400; font-size: .75rem; color: #565959; letter-spacing: 0; }
  h1 { font-size: 1.15rem; font-weight: 600; line-height: 1.4; margin: 0 0 .75rem; }
  ul { padding-left: 1.2rem; margin: .5rem 0 1rem; }
  .who { font-size: .9rem; color: #565959; }
  .fine { font-size: .8rem; color: #565959; word-break: break-all; }
  .buttons { display: flex; gap: .75rem; justify-content: flex-end; margin-top: 1.25rem; }
  button { font: inherit; padding: .5rem 1.25rem; border-radius: 8px; border: 1px solid #d5d9d9; background: #fff; cursor: pointer; }
  button.primary { background: #ffd814; border-color: #fcd200; }
  code { font-size: .85em; }
`

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amazon Sign-In — {{.App}}</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
  <p class="brand">amazon<small>lwatest — a fake Login with Amazon for tests</small></p>
  <h1 id="ask">{{.App}} would like to access your {{.What}}.</h1>
  <p class="who">Signed in as <strong id="customer">{{.Customer.Name}}</strong>{{with .Customer.Email}} ({{.}}){{end}}</p>
  <ul>{{range .Items}}
    <li>{{.}}</li>{{end}}
  </ul>
  <p class="fine">Afterwards you will return to <code>{{.Return}}</code>.</p>
  <form method="post" action="/ap/oa">{{range $k, $v := .Hidden}}
    <input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
    <div class="buttons">
      <button type="submit" name="decision" value="deny" id="deny">Deny</button>
      <button type="submit" name="decision" value="approve" id="approve" class="primary">Allow</button>
    </div>
  </form>
</main>
</body>
</html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amazon Sign-In — error</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
  <p class="brand">amazon<small>lwatest — a fake Login with Amazon for tests</small></p>
  <h1>We cannot complete this sign-in request.</h1>
  <p><code id="error">{{.Code}}</code>: <span id="error_description">{{.Desc}}</span></p>
  <p class="fine">Request ID {{.RequestID}}</p>
</main>
</body>
</html>
`))

// pageSecurity sets the headers of the consent and error pages: no
// framing (clickjacking), no script.
func pageSecurity(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func writeConsentPage(w http.ResponseWriter, req *authRequest, customer core.Profile) {
	what, items := describeScopes(req.scopes)
	hidden := map[string]string{
		"client_id":     req.app.ClientID,
		"scope":         strings.Join(req.scopes, " "),
		"response_type": "code",
		"redirect_uri":  req.redirectURI,
	}
	if req.state != "" {
		hidden["state"] = req.state
	}
	if req.challenge != "" {
		hidden["code_challenge"] = req.challenge
		hidden["code_challenge_method"] = req.method
	}
	ret := req.redirectURI
	if u, err := url.Parse(ret); err == nil {
		ret = u.Scheme + "://" + u.Host
	}
	pageSecurity(w.Header())
	w.WriteHeader(http.StatusOK)
	_ = consentPage.Execute(w, map[string]any{
		"App":      req.app.displayName(),
		"What":     what,
		"Items":    items,
		"Customer": customer,
		"Return":   ret,
		"Hidden":   hidden,
	})
}

// displayName is the app's name on the pages: Name, else ClientID.
func (a *App) displayName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ClientID
}

// describeScopes says what the scopes let the app see: a phrase for the
// page's question ("name, email address and postal code") and one line per
// item.
func describeScopes(scopes []string) (what string, items []string) {
	var parts []string
	if slices.Contains(scopes, "profile") {
		parts = append(parts, "name", "email address")
		items = append(items, "Your name and email address", "A unique identifier for your Amazon account")
	} else if slices.Contains(scopes, "profile:user_id") {
		parts = append(parts, "account identifier")
		items = append(items, "A unique identifier for your Amazon account")
	}
	if slices.Contains(scopes, "postal_code") {
		parts = append(parts, "postal code")
		items = append(items, "Your postal code")
	}
	return joinList(parts), items
}

func writeErrorPage(w http.ResponseWriter, status int, code, desc, rid string) {
	pageSecurity(w.Header())
	w.WriteHeader(status)
	_ = errorPage.Execute(w, map[string]string{"Code": code, "Desc": desc, "RequestID": rid})
}

// joinList joins "a", "b", "c" as "a, b and c".
func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
