package main

// The browser half of the demo: "Sign in with Amazon" with the authorization
// code grant and PKCE, run by this server; a page that calls the protected
// API with the access token; the same page on a second origin, calling the
// API across origins (CORS).
//
//	GET  /app        the page (also on the second origin)
//	GET  /login      starts a sign-in: state + PKCE verifier kept here, 302 to Amazon's /ap/oa
//	GET  /callback   Amazon's redirect back: checks state, exchanges the code (with the verifier),
//	                 303 to <origin>/app#access_token=… (the fragment never reaches a server)
//	POST /logout     protected: revokes the caller's token (core.Verifier.Revoke)
//	GET  /me         protected (routes in main.go): the caller's profile
//
// Offline, "Amazon" is the embedded lwatest server, which shows a real
// consent page. With LWA_CLIENT_ID and LWA_CLIENT_SECRET set, it is Amazon;
// the app's return URL <addr>/callback must then be registered in its
// security profile.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// Amazon's authorization endpoint (the token endpoint is the verifier's
// endpoint + /auth/o2/token).
const amazonAuthURL = "https://www.amazon.com/ap/oa"

// envClientSecret enables the browser sign-in against Amazon.
const envClientSecret = "LWA_CLIENT_SECRET"

const (
	stateCookie   = "lwademo_state"
	loginLifetime = 10 * time.Minute // from /login to /callback
	maxPending    = 10000            // sign-ins under way at once
	maxPreflights = 100              // preflights remembered
)

// demoCustomer is who signs in at the embedded fake: the customer of the
// demo's printed token.
var demoCustomer = core.Profile{
	UserID: "amzn1.account.DEMOUSER", Email: "ada@example.com", Name: "Ada Lovelace", PostalCode: "98052",
}

//go:embed web
var webFiles embed.FS

var pageTmpl = template.Must(template.ParseFS(webFiles, "web/index.html"))

// site is the browser sign-in: its routes on the API server, and the second
// origin.
type site struct {
	v    *core.Verifier
	fake *lwatest.Server // nil against Amazon
	conf *oauth2.Config  // nil when sign-in is unavailable
	why  string          // why it is unavailable
	hc   *http.Client    // for the token endpoint

	api     string          // the API's origin, http://host:port
	web     string          // the second origin, "" when off
	origins map[string]bool // allowed CORS origins

	webSrv *http.Server
	webErr chan error

	mu         sync.Mutex
	pending    map[string]pendingLogin // state -> sign-in under way
	preflights []preflight             // CORS preflights received, for the demo's tests
}

// pendingLogin is a sign-in between /login and /callback.
type pendingLogin struct {
	verifier string // PKCE code_verifier
	origin   string // where the page that started it lives
	expires  time.Time
}

// preflight is one CORS preflight the API answered.
type preflight struct {
	Origin, Method, Path string
}

// startSite sets up the sign-in for the API served at apiOrigin and starts
// the second origin on webAddr ("auto": apiAddr's port + 1, or any free
// port when that is 0; "off": none).
func startSite(v *core.Verifier, fake *lwatest.Server, apiOrigin, apiAddr, webAddr string) (*site, error) {
	s := &site{v: v, fake: fake, api: apiOrigin, pending: make(map[string]pendingLogin), origins: map[string]bool{apiOrigin: true}}
	switch {
	case fake != nil:
		secret := randomString(24)
		fake.RegisterApp(lwatest.App{
			ClientID:     demoClientID,
			ClientSecret: secret,
			RedirectURIs: []string{apiOrigin + "/callback"},
			Name:         "lwademo",
		})
		fake.SetCustomer(demoCustomer)
		s.hc = fake.Client()
		s.conf = newOAuthConfig(demoClientID, secret, fake.AuthURL(), fake.TokenURL(), apiOrigin)
	case os.Getenv(envClientSecret) != "":
		s.hc = &http.Client{Timeout: 10 * time.Second}
		s.conf = newOAuthConfig(v.ClientIDs()[0], os.Getenv(envClientSecret), amazonAuthURL, v.Endpoint()+"/auth/o2/token", apiOrigin)
	default:
		s.why = "Browser sign-in needs " + envClientSecret + " (the security profile's client secret) besides " + core.EnvClientID + "."
	}

	addr, err := secondAddr(apiAddr, webAddr)
	if err != nil || addr == "" {
		return s, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("second origin: %w", err)
	}
	s.web = "http://" + ln.Addr().String()
	s.origins[s.web] = true
	mux := http.NewServeMux()
	s.pageRoutes(mux, s.web)
	mux.Handle("GET /{$}", http.RedirectHandler("/app", http.StatusFound))
	s.webSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.webErr = make(chan error, 1)
	go func() { s.webErr <- s.webSrv.Serve(ln) }()
	return s, nil
}

func newOAuthConfig(id, secret, authURL, tokenURL, apiOrigin string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     id,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  apiOrigin + "/callback",
		Scopes:       []string{"profile", "postal_code"},
	}
}

// secondAddr resolves the -web-addr flag.
func secondAddr(apiAddr, webAddr string) (string, error) {
	switch webAddr {
	case "off", "":
		return "", nil
	case "auto":
	default:
		return webAddr, nil
	}
	host, port, err := net.SplitHostPort(apiAddr)
	if err != nil {
		return "", err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 {
		return net.JoinHostPort(host, "0"), nil
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1)), nil
}

// close stops the second origin.
func (s *site) close() {
	if s.webSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.webSrv.Shutdown(ctx)
	<-s.webErr
}

// handler serves the sign-in routes beside api, behind the CORS middleware.
func (s *site) handler(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	s.pageRoutes(mux, s.api)
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("GET /callback", s.callback)
	mux.Handle("POST /logout", stdlwa.New(s.v)(http.HandlerFunc(s.logout)))
	mux.Handle("/", api)
	return s.cors(mux)
}

// printHelp tells where to sign in.
func (s *site) printHelp(out io.Writer) {
	fmt.Fprintln(out)
	if s.conf == nil {
		fmt.Fprintf(out, "Browser demo: %s/app (%s)\n", s.api, s.why)
	} else {
		fmt.Fprintf(out, "Sign in with a browser: %s/app\n", s.api)
		if s.fake == nil {
			fmt.Fprintf(out, "  (register %s/callback as an Allowed Return URL of the security profile)\n", s.api)
		}
	}
	if s.web != "" {
		fmt.Fprintf(out, "The same page on a second origin, calling the API across origins (CORS): %s/app\n", s.web)
	}
}

// --- the page ---

func (s *site) pageRoutes(mux *http.ServeMux, origin string) {
	static, _ := fs.Sub(webFiles, "web")
	mux.Handle("GET /app.js", staticFile(static, "app.js"))
	mux.Handle("GET /app.css", staticFile(static, "app.css"))
	mux.HandleFunc("GET /app", func(w http.ResponseWriter, r *http.Request) { s.page(w, origin) })
}

func staticFile(fsys fs.FS, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, fsys, name)
	})
}

func (s *site) page(w http.ResponseWriter, origin string) {
	other := s.web
	if origin == s.web {
		other = s.api
	}
	mode := "offline: an embedded fake Login with Amazon (lwatest)"
	if s.fake == nil {
		mode = "Login with Amazon (" + s.v.Endpoint() + ")"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self' "+s.api+"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	_ = pageTmpl.Execute(w, map[string]any{
		"API":    s.api,
		"Origin": origin,
		"Other":  other,
		"Mode":   mode,
		"SignIn": s.conf != nil,
		"Why":    s.why,
	})
}

// --- sign-in ---

// login starts a sign-in for the page at ?origin= (one of ours; default the
// API's own).
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
	state, verifier := randomString(32), oauth2.GenerateVerifier()
	if !s.addPending(state, pendingLogin{verifier: verifier, origin: origin}) {
		http.Error(w, "too many sign-ins under way; try again later", http.StatusServiceUnavailable)
		return
	}
	// The state also goes into a cookie of this browser: a callback that
	// does not come back to the browser that started the sign-in (login
	// CSRF) is refused.
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: state, Path: "/callback", MaxAge: int(loginLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.api, "https://"),
	})
	http.Redirect(w, r, s.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback is where Amazon sends the customer back.
func (s *site) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/callback", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if s.conf == nil {
		http.Error(w, s.why, http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(stateCookie)
	p, ok := s.takePending(state)
	if !ok || err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		s.backToPage(w, r, s.api, url.Values{"error": {"invalid_state"},
			"error_description": {"This sign-in was not started here, was already used, or took too long. Please sign in again."}})
		return
	}
	if e := q.Get("error"); e != "" { // the customer said no, or Amazon refused the request
		s.backToPage(w, r, p.origin, url.Values{"error": {e}, "error_description": {q.Get("error_description")}})
		return
	}
	ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), oauth2.HTTPClient, s.hc), 10*time.Second)
	defer cancel()
	tok, err := s.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		code := "server_error"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			code = re.ErrorCode
		}
		slog.Warn("lwademo: code exchange failed", "error_code", code)
		s.backToPage(w, r, p.origin, url.Values{"error": {code}, "error_description": {"The sign-in could not be completed."}})
		return
	}
	// The page gets the access token in the URL fragment, which browsers
	// never send to a server nor put in a Referer. The refresh token stays
	// here (this demo does not use it).
	s.backToPage(w, r, p.origin, url.Values{
		"access_token": {tok.AccessToken},
		"token_type":   {"bearer"},
		"expires_in":   {strconv.FormatInt(int64(time.Until(tok.Expiry)/time.Second), 10)},
	})
}

func (s *site) backToPage(w http.ResponseWriter, r *http.Request, origin string, fragment url.Values) {
	http.Redirect(w, r, origin+"/app#"+fragment.Encode(), http.StatusSeeOther)
}

// logout revokes the caller's (verified) token.
func (s *site) logout(w http.ResponseWriter, r *http.Request) {
	tok, ok := stdlwa.Token(r)
	if !ok { // cannot happen behind the middleware
		core.WriteError(w, core.ErrMissingToken)
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

func (s *site) addPending(state string, p pendingLogin) bool {
	now := time.Now()
	p.expires = now.Add(loginLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.pending {
		if now.After(old.expires) {
			delete(s.pending, k)
		}
	}
	if len(s.pending) >= maxPending {
		return false
	}
	s.pending[state] = p
	return true
}

// takePending returns and forgets the sign-in of state: a state works once.
func (s *site) takePending(state string) (pendingLogin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[state]
	delete(s.pending, state)
	if !ok || time.Now().After(p.expires) {
		return pendingLogin{}, false
	}
	return p, true
}

// --- CORS ---

// cors lets the pages of our origins call the API: it answers preflights
// itself (before lwa, which never sees them), allows the token headers, and
// exposes WWW-Authenticate so that a page can read the challenge.
func (s *site) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		isPreflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if origin == "" || !s.origins[origin] {
			if isPreflight {
				w.WriteHeader(http.StatusForbidden) // no CORS headers: the browser refuses
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		if !isPreflight {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		if len(s.preflights) == maxPreflights {
			s.preflights = s.preflights[1:]
		}
		s.preflights = append(s.preflights, preflight{Origin: origin, Method: r.Header.Get("Access-Control-Request-Method"), Path: r.URL.Path})
		s.mu.Unlock()
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "Authorization, X-Amz-Access-Token")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// preflightsSeen returns the preflights answered so far.
func (s *site) preflightsSeen() []preflight {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]preflight(nil), s.preflights...)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
