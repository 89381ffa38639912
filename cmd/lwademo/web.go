package main

// The browser half of the demo: "Sign in with Amazon" with the authorization
// code grant and PKCE, run by this server; a page that calls the protected
// API with the access token; the same page on a second origin, calling the
// API across origins (CORS).
//
//	GET  /app              the page (also on the second origin)
//	GET  /login            starts a sign-in: state + PKCE verifier sealed in a cookie, 302 to Amazon's /ap/oa
//	GET  /callback         Amazon's redirect back: checks the state against the cookie, exchanges the
//	                       code (with the verifier), seals the token in a hand-over cookie,
//	                       303 to <origin>/app#handoff=<nonce>
//	POST /session/claim    the page trades the nonce, with its browser's hand-over cookie, for the token
//	POST /session/handoff  protected: the page hands its token to the page on the other origin
//	POST /logout           protected: revokes the caller's token (core.Verifier.Revoke)
//	GET  /me               protected (routes in main.go): the caller's profile
//
// Offline, "Amazon" is the embedded lwatest server, which shows a real
// consent page. With LWA_CLIENT_ID and LWA_CLIENT_SECRET set, it is Amazon;
// the app's return URL <addr>/callback must then be registered in its
// security profile.
//
// # Trust boundaries (copy this part)
//
// The page accepts a token only from its own browser's sign-in. A page that
// took any access_token from its URL (as this demo once did) can be made to
// sign a victim in as the attacker (login CSRF): the attacker signs in,
// then sends the victim a link to /app#access_token=<the attacker's token>,
// and everything the victim then does lands in the attacker's account. So:
//
//  1. /login seals the OAuth state, the PKCE verifier and the page's origin,
//     with an expiry (10 minutes), into the lwademo_login cookie (HttpOnly,
//     SameSite=Lax, Path=/callback, Secure on HTTPS) with AES-256-GCM under
//     a random key of this process (seal.go). The server keeps nothing: a
//     flood of /login costs it no memory and blocks nobody's sign-in.
//  2. /callback clears that cookie, opens it, and goes on only if it opens,
//     has not expired and holds the state Amazon sent back. A callback in a
//     browser that did not start the sign-in (the attacker's code sent to
//     the victim) has no such cookie.
//  3. The token leaves /callback sealed in the lwademo_handoff cookie
//     (HttpOnly, SameSite=Lax, Path=/session, one minute) with a random
//     nonce; the URL carries only that nonce: /app#handoff=<nonce>.
//  4. The page POSTs the nonce to /session/claim with its cookies. The
//     server answers the token only if the cookie opens, its nonce matches
//     and the request's Origin is the page's origin the sign-in was for; it
//     clears the cookie either way. The page ignores any access_token in its
//     URL, and a made-up nonce finds no cookie that matches.
//  5. To call the API from the second origin, the page POSTs its token to
//     /session/handoff (behind lwa, from one of our origins only), which
//     sets a hand-over cookie for the other origin's page, as in 3.
//
// Replay without a table. The login cookie is single-use in its browser (it
// is cleared at the callback). A copy of it (captured from the network on
// plain HTTP, or from the disk) works only with the state it holds, for at
// most 10 minutes, and only with an authorization code issued for its PKCE
// challenge and our redirect URI, which Amazon redeems once: replaying a
// finished callback gets invalid_grant. A copy of a hand-over cookie, with
// its nonce, is worth the token for at most one minute: hence HttpOnly,
// Secure on HTTPS, and a Path that no page is served under. The per-process
// key means a restart ends the sign-ins under way (sign in again), and
// replicas behind one address need either one key between them or
// /callback routed back to the replica that served /login.

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
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

// maxPreflights is how many CORS preflights the site remembers, for the
// demo's tests.
const maxPreflights = 100

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

	seal *sealer // the sign-in's cookies (seal.go)

	webSrv *http.Server
	webErr chan error

	mu         sync.Mutex
	preflights []preflight // CORS preflights received, for the demo's tests
}

// preflight is one CORS preflight the API answered.
type preflight struct {
	Origin, Method, Path string
}

// startSite sets up the sign-in for the API served at apiOrigin and starts
// the second origin on webAddr ("auto": apiAddr's port + 1, or any free
// port when that is 0 or taken; "off": none).
func startSite(v *core.Verifier, fake *lwatest.Server, apiOrigin, apiAddr, webAddr string) (*site, error) {
	seal, err := newSealer(time.Now)
	if err != nil {
		return nil, err
	}
	s := &site{v: v, fake: fake, api: apiOrigin, seal: seal, origins: map[string]bool{apiOrigin: true}}
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

	addr, auto, err := secondAddr(apiAddr, webAddr)
	if err != nil || addr == "" {
		return s, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && auto {
		// port + 1 is taken (another copy of the demo, say): any port.
		host, _, _ := net.SplitHostPort(addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
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

// secondAddr resolves the -web-addr flag: the address to listen on ("" for
// none), and whether it was chosen automatically (then any free port will
// do if it is taken).
func secondAddr(apiAddr, webAddr string) (addr string, auto bool, err error) {
	switch webAddr {
	case "off", "":
		return "", false, nil
	case "auto":
	default:
		return webAddr, false, nil
	}
	host, port, err := net.SplitHostPort(apiAddr)
	if err != nil {
		return "", false, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 || p == 65535 {
		return net.JoinHostPort(host, "0"), true, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1)), true, nil
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
	mux.HandleFunc("POST /session/claim", s.claim)
	protect := stdlwa.New(s.v)
	mux.Handle("POST /session/handoff", protect(http.HandlerFunc(s.handoffTo)))
	mux.Handle("POST /logout", protect(http.HandlerFunc(s.logout)))
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

// --- CORS ---

// cors lets the pages of our origins call the API: it answers preflights
// itself (before lwa, which never sees them), allows the token headers, and
// exposes WWW-Authenticate so that a page can read the challenge. Only the
// sign-in's hand-over (/session/) is called with credentials (its cookie);
// the API itself is called with the token alone.
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
		if strings.HasPrefix(r.URL.Path, "/session/") {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
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
		h.Set("Access-Control-Allow-Headers", "Authorization, X-Amz-Access-Token, Content-Type")
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
