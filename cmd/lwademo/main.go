// Command lwademo serves a small API protected by Login with Amazon, on
// net/http with the stdlwa adapter.
//
//	go run ./cmd/lwademo # offline, nothing to set up: 127.0.0.1:8080, and the second origin on :8081
//
// Two replicas sharing verified tokens and revocations through one Redis.
// Each copy listens on -addr and, for the sign-in page's second origin, on
// -addr's port + 1 (-web-addr auto), so give two copies ports at least 2
// apart. Both need the same fleet key (LWA_SHARED_KEYS); the first makes one
// up when it is unset and prints the second command, key included:
//
//	go run ./cmd/lwademo -redis localhost:6379
//	LWA_SHARED_KEYS=<the key it printed> go run ./cmd/lwademo -redis localhost:6379 -addr 127.0.0.1:8090
//
// With LWA_CLIENT_ID unset it runs offline: it starts an embedded fake Login
// with Amazon server (package lwatest), issues tokens, and prints
// ready-to-run curl commands, each with the status it answers and what the
// demo's request log says about it. With LWA_CLIENT_ID set (and optionally
// LWA_ENDPOINT), it verifies real tokens against Amazon.
//
// Routes (routes, below; the browser sign-in is in web.go):
//
//	GET  /             public: this list
//	GET  /healthz      behind the middleware, let through untouched by its Skip
//	GET  /me           protected: the caller's profile
//	GET  /me/token     protected: the token's details (client ID, issued at, expires at)
//	GET  /hello        optional credentials: greets the caller if signed in
//	GET  /postal       protected, and requires the postal_code scope (Policy.RequiredFields)
//	GET  /html/me      protected, rejections answered as an HTML page (Config.ErrorHandler)
//	POST /logout       protected: revokes the caller's token on every replica (web.go)
//	GET  /metrics      OpenTelemetry metrics (otellwa) in Prometheus format
//
// Every request is logged on one line: method, path, status, how its token
// was handled, and duration (observe.go). The token itself is never
// logged. how= is one of:
//
//	public             a route without the lwa middleware: the page, the sign-in, /, /metrics, an unknown path or method
//	preflight          a CORS preflight, answered before lwa (it carries no token)
//	skipped            let through untouched by the middleware's Skip (/healthz)
//	anonymous          no token, on a route where credentials are optional (/hello)
//	rejected <code>    refused: invalid_request, invalid_token, insufficient_scope, not_found or server_error
//	local cache        verified from this process's cache
//	shared cache       verified from the shared tier (-redis), sealed in Redis by another replica
//	verified upstream  verified by asking Amazon (tokeninfo and profile)
//	coalesced          waited for the verification another request had started
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/promexport"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/redislwa"
	"github.com/go-lwa/lwa/stdlwa"
)

// demoClientID is the client ID the embedded fake issues tokens for.
const demoClientID = "amzn1.application-oa2-client.lwademo"

// demoTVClientID is the client ID of the demo's TV (code-based linking,
// examples/devicelink), another client of the same app.
const demoTVClientID = "amzn1.application-oa2-client.lwademo-tv"

// framework says what the demo runs on, at startup.
const framework = "net/http (http.ServeMux) + github.com/go-lwa/lwa/stdlwa"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "lwademo:", err)
		os.Exit(1)
	}
}

// running is what a started demo hands to its tests.
type running struct {
	addr string          // the API's listening address
	fake *lwatest.Server // the embedded fake Amazon; nil against Amazon
	v    *core.Verifier
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address once the server accepts connections.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	return serve(ctx, args, out, func(r running) {
		if ready != nil {
			ready <- r.addr
		}
	})
}

// serve is run; started, if not nil, is called once the server accepts
// connections.
func serve(ctx context.Context, args []string, out io.Writer, started func(running)) error {
	fl, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	out = &lockedWriter{w: out} // startup lines, then one log line per request

	// Metrics: an otellwa Observer on a MeterProvider read by the
	// Prometheus exporter, wrapped to also tell the request log how each
	// request was handled (observe.go).
	m, err := promexport.New()
	if err != nil {
		return err
	}
	defer m.Close()
	opts := []core.Option{core.WithObserver(howObserver{m.Obs})}

	var fake *lwatest.Server
	if os.Getenv(core.EnvClientID) == "" {
		fake = lwatest.NewServer()
		defer fake.Close()
		fake.RegisterApp(lwatest.App{ClientID: demoTVClientID, Device: true, Name: "lwademo TV"})
		fake.SetCodePairTiming(10*time.Minute, 5*time.Second)
		opts = append(opts, core.WithClientID(demoClientID, demoTVClientID), core.WithEndpoint(fake.URL))
	}
	var rdb *redis.Client
	var keys [][]byte
	var keyGenerated bool
	if fl.redisAddr != "" {
		// The second cache tier: a token verified by one replica is served
		// by the others from Redis, sealed with the fleet key and the token
		// (Redis never sees a token nor a profile in the clear); Forget and
		// Revoke reach every replica. Every replica needs the same key
		// (fleet.go).
		keys, keyGenerated, err = fleetKeys(os.Getenv(core.EnvSharedKeys))
		if err != nil {
			return err
		}
		rdb = redis.NewClient(&redis.Options{Addr: fl.redisAddr})
		defer rdb.Close() // after v.Close (defers run in reverse)
		opts = append(opts, core.WithSharedCache(redislwa.New(rdb)), core.WithSharedKeys(keys...))
	}
	v, err := core.NewVerifier(opts...)
	if err != nil {
		return err
	}
	defer v.Close()

	ln, err := net.Listen("tcp", fl.addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	site, err := startSite(v, fake, base, fl.addr, fl.webAddr) // browser sign-in, web.go
	if err != nil {
		ln.Close()
		return err
	}
	defer site.close()
	// The order of the layers: the request log outermost (it sees every
	// answer), then CORS, globally, before lwa (it answers preflights,
	// which carry no token), then the routes, each with its own lwa
	// middleware.
	handler := logRequests(out, site.handler(routes(v, m.Handler)))
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}

	fmt.Fprintf(out, "lwademo: %s\n", framework)
	if fake != nil {
		fmt.Fprintf(out, "lwademo: serving on %s, offline against an embedded fake Login with Amazon server (%s is unset)\n", base, core.EnvClientID)
	} else {
		fmt.Fprintf(out, "lwademo: serving on %s, verifying tokens for client ID(s) %s against %s\n", base, strings.Join(v.ClientIDs(), ", "), v.Endpoint())
	}
	printSharedCache(ctx, out, rdb, fl.redisAddr)
	if rdb != nil {
		var key []byte
		if keyGenerated {
			key = keys[0]
		}
		port := ln.Addr().(*net.TCPAddr).Port
		printFleetKey(out, keyGenerated, len(keys), replicaCommand(fl.redisAddr, fl.addr, port, fl.webAddr, key))
	}
	printLogVocabulary(out)
	fmt.Fprintln(out)
	if fake != nil {
		printOffline(out, fake, base, site.web)
	} else {
		printLive(out, base)
	}
	site.printHelp(out)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	fmt.Fprintln(out)
	if started != nil {
		started(running{addr: ln.Addr().String(), fake: fake, v: v})
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// flags are the demo's command-line flags.
type flags struct {
	addr, webAddr, redisAddr string
}

// parseFlags reads the command line; its help and errors go to out.
func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("lwademo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (a second copy needs a port at least 2 apart: -web-addr auto takes port + 1)")
	fs.StringVar(&f.webAddr, "web-addr", "auto", "second origin for the sign-in page's cross-origin calls (auto: -addr's port + 1, or any free port if that one is taken; off: none)")
	fs.StringVar(&f.redisAddr, "redis", "", "share verified tokens and revocations with other replicas through the Redis at this address (host:port); "+
		"every replica needs the same fleet key, "+core.EnvSharedKeys+" (comma-separated standard base64, 32 bytes or more each; made up and printed when unset)")
	return f, fs.Parse(args)
}

// printSharedCache says whether the verifier shares its cache, and warns
// when Redis does not answer: the verifier then carries on without the
// shared tier (every replica asks Amazon itself) until Redis is back.
func printSharedCache(ctx context.Context, out io.Writer, rdb *redis.Client, addr string) {
	if rdb == nil {
		fmt.Fprintln(out, "lwademo: shared cache: none, this process's memory only (-redis host:port shares verified tokens between replicas)")
		return
	}
	fmt.Fprintf(out, "lwademo: shared cache: Redis at %s (core.WithSharedCache(redislwa.New(rdb))): replicas started with the same -redis share verified tokens and revocations\n", addr)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		fmt.Fprintf(out, "lwademo: warning: Redis at %s does not answer (%v); tokens are verified without the shared tier until it does\n", addr, err)
	}
}

// routes is the demo API. Every route is registered with its method, and
// each protected route has the lwa middleware configured for it; all of
// them share one verifier, and so one cache.
func routes(v *core.Verifier, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", index)

	// The API's middleware. Its Skip lets the health check through
	// untouched: load balancers carry no token. (Wrapping a whole mux,
	// srv.Handler = protect(mux), with Skip for the public paths is the
	// same idea at scale.)
	protect := stdlwa.New(v, stdlwa.Config{Skip: func(r *http.Request) bool {
		if r.URL.Path == "/healthz" {
			noteSkipped(r.Context()) // for the request log
			return true
		}
		return false
	}})
	mux.Handle("GET /healthz", protect(http.HandlerFunc(healthz)))
	mux.Handle("GET /me", protect(http.HandlerFunc(me)))
	mux.Handle("GET /me/token", protect(http.HandlerFunc(meToken)))

	// Optional credentials: no token is fine (no profile); a bad token is
	// still rejected.
	optional := stdlwa.New(v, stdlwa.Config{Policy: core.Policy{Optional: true}})
	mux.Handle("GET /hello", optional(http.HandlerFunc(hello)))

	// A route's own requirement: the customer must have granted the
	// postal_code scope; a token without it is 401 insufficient_scope. The
	// cache is shared: a token verified for /me is not verified again.
	postal := stdlwa.New(v, stdlwa.Config{Policy: core.Policy{RequiredFields: []string{core.FieldPostalCode}}})
	mux.Handle("GET /postal", postal(http.HandlerFunc(postalCode)))

	// A custom error handler: rejections as a small HTML page, for a route
	// a browser opens directly.
	htmlPage := stdlwa.New(v, stdlwa.Config{ErrorHandler: htmlError})
	mux.Handle("GET /html/me", htmlPage(http.HandlerFunc(htmlMe)))

	mux.Handle("GET /metrics", metrics)
	mountRPC(mux, v) // Connect procedures beside the REST routes (rpc.go)
	return mux
}

func index(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"framework": framework,
		"routes": []string{
			"GET /healthz (skipped by the middleware)",
			"GET /me (token required: the profile)",
			"GET /me/token (token required: client_id, issued_at, expires_at)",
			"GET /hello (token optional)",
			"GET /postal (token required, with the postal_code scope)",
			"GET /html/me (token required, rejections as HTML)",
			"POST /logout (token required: revokes it)",
			"GET /metrics (Prometheus)",
			"GET /app (sign in with a browser)",
		},
	})
}

func healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"status": "ok"})
}

// noProfile answers a handler that found no profile: it cannot happen
// behind a middleware that requires a token, and fails closed if it does.
func noProfile(w http.ResponseWriter) {
	core.WriteError(w, core.NewError(core.ErrMissingToken, "the request carries no verified access token"))
}

func me(w http.ResponseWriter, r *http.Request) {
	p, ok := stdlwa.Profile(r)
	if !ok {
		noProfile(w)
		return
	}
	writeJSON(w, p)
}

func meToken(w http.ResponseWriter, r *http.Request) {
	info, ok := stdlwa.TokenInfo(r)
	if !ok {
		noProfile(w)
		return
	}
	writeJSON(w, info)
}

func hello(w http.ResponseWriter, r *http.Request) {
	if p, ok := stdlwa.Profile(r); ok {
		writeJSON(w, map[string]string{"hello": p.Name})
		return
	}
	writeJSON(w, map[string]string{"hello": "stranger"})
}

func postalCode(w http.ResponseWriter, r *http.Request) {
	p, ok := stdlwa.Profile(r)
	if !ok {
		noProfile(w)
		return
	}
	writeJSON(w, map[string]string{"postal_code": p.PostalCode})
}

var htmlTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lwademo</title></head>
<body>
{{if .Name}}<h1>Hello, {{.Name}}</h1>
<p>Signed in with Amazon as {{.Email}}.</p>
{{else}}<h1>{{.Status}} {{.Code}}</h1>
<p>{{.Description}}</p>
<p><a href="/app">Sign in with Amazon</a></p>
{{end}}</body></html>
`))

type htmlData struct {
	Name, Email       string
	Status            int
	Code, Description string
}

func writeHTML(w http.ResponseWriter, status int, d htmlData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = htmlTmpl.Execute(w, d)
}

// htmlError is the custom error handler of /html/me. It keeps the
// rejection's status and authentication headers (WWW-Authenticate,
// Cache-Control, Retry-After) and replaces only the body. Whatever it
// writes, the protected handler is not called and the answer stays an
// error.
func htmlError(w http.ResponseWriter, r *http.Request, err *core.Error) {
	writeHTML(w, err.Status, htmlData{Status: err.Status, Code: err.Code, Description: err.Description})
}

func htmlMe(w http.ResponseWriter, r *http.Request) {
	p, ok := stdlwa.Profile(r)
	if !ok {
		noProfile(w)
		return
	}
	writeHTML(w, http.StatusOK, htmlData{Name: p.Name, Email: p.Email})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// printOffline issues the demo tokens and prints a curl command for each
// case, each on its own line, preceded by a comment with the status it
// answers and, in quotes, what the request log says about it. Run in
// order, every command answers as its comment says (main_test.go checks).
func printOffline(out io.Writer, fake *lwatest.Server, base, web string) {
	mine := fake.Issue(demoClientID, demoCustomer)
	profileOnly := fake.Issue(demoClientID, demoCustomer, lwatest.WithScopes("profile"))
	toSignOut := fake.Issue(demoClientID, demoCustomer)
	theirs := fake.Issue("amzn1.application-oa2-client.someoneelse", core.Profile{Name: "Mallory"})
	origin := web
	if origin == "" {
		origin = base
	}
	bearer := func(tok string) string { return "-H 'Authorization: Bearer " + tok + "' " }
	cmds := []struct{ what, curl string }{
		{`a valid token, first use: 200 and the profile, log "verified upstream"`, bearer(mine) + base + "/me"},
		{`the same token again: 200, log "local cache"`, bearer(mine) + base + "/me"},
		{`the token's details (client_id, issued_at, expires_at): 200, log "local cache"`, bearer(mine) + base + "/me/token"},
		{`a token issued to another app: 404 not_found, log "rejected not_found"`, bearer(theirs) + base + "/me"},
		{`no token: 400 invalid_request, log "rejected invalid_request"`, base + "/me"},
		{`optional credentials, no token: 200 and a greeting for a stranger, log "anonymous"`, base + "/hello"},
		{`optional credentials, a token: 200 and a greeting for Ada, log "local cache"`, bearer(mine) + base + "/hello"},
		{`optional credentials, a bad token: 400 invalid_token (only an absent token passes), log "rejected invalid_token"`,
			bearer("Atza|not-a-real-token") + base + "/hello"},
		{`the health check, let through by the middleware's Skip: 200, log "skipped"`, base + "/healthz"},
		{`a route that requires the postal_code scope: 200 and Ada's postal code, log "local cache"`, bearer(mine) + base + "/postal"},
		{`the same route, a token granted only the profile scope: 401 insufficient_scope, log "rejected insufficient_scope"`,
			bearer(profileOnly) + base + "/postal"},
		{`a custom error handler answers rejections as HTML: 400, log "rejected invalid_request"`, base + "/html/me"},
		{`the same route with a token: 200 and an HTML greeting, log "local cache"`, bearer(mine) + base + "/html/me"},
		{`a CORS preflight, answered by the CORS middleware before lwa: 204 with the CORS headers, log "preflight"`,
			"-X OPTIONS -H 'Origin: " + origin + "' -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: authorization' " + base + "/me"},
		{`sign out: revoke a token on every replica: 200, log "verified upstream"`, "-X POST " + bearer(toSignOut) + base + "/logout"},
		{`the signed-out token: 400 invalid_token, log "rejected invalid_token"`, bearer(toSignOut) + base + "/me"},
		{`the metrics, OpenTelemetry in Prometheus format (lwa_requests_total, lwa_cache_lookups_total, ...): 200, log "public"`,
			base + "/metrics"},
	}
	fmt.Fprintln(out, "Try it (the tokens are valid for an hour; run the commands in order):")
	for _, c := range cmds {
		fmt.Fprintf(out, "# %s\ncurl -i %s\n", c.what, c.curl)
	}
	fmt.Fprintln(out)
	printRPC(out, base, mine)
	fmt.Fprintln(out)
	fmt.Fprintf(out, "A TV signs in with code-based linking: run it, then enter the code it shows at %s\n", fake.CodeEntryURL())
	fmt.Fprintf(out, "  go run ./examples/devicelink/cmd/tv -lwa %s -client-id %s -api %s/me\n", fake.URL, demoTVClientID, base)
}

// printLive prints the commands to try with a real token.
func printLive(out io.Writer, base string) {
	fmt.Fprintln(out, "# your profile, with a real token: 200")
	fmt.Fprintf(out, "curl -i -H 'Authorization: Bearer <your LWA access token>' %s/me\n", base)
	fmt.Fprintln(out, "# the health check, skipped by the middleware: 200")
	fmt.Fprintf(out, "curl -i %s/healthz\n", base)
	fmt.Fprintln(out, "# the metrics, in Prometheus format: 200")
	fmt.Fprintf(out, "curl -i %s/metrics\n", base)
}
