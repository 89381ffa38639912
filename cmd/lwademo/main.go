// Command lwademo serves a small API protected by Login with Amazon.
//
//	go run ./cmd/lwademo
//
// With LWA_CLIENT_ID unset it runs offline: it starts an embedded fake Login
// with Amazon server (package lwatest), issues tokens, and prints ready-to-run
// curl commands. With LWA_CLIENT_ID set (and optionally LWA_ENDPOINT), it
// verifies real tokens against Amazon.
//
// Routes: GET / (public), GET /me (protected: the caller's profile), GET
// /hello (optional credentials: greets the caller if signed in), and the
// browser sign-in of web.go (GET /app, /login, /callback, POST /logout).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// demoClientID is the client ID the embedded fake issues tokens for.
const demoClientID = "amzn1.application-oa2-client.lwademo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "lwademo:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address once the server accepts connections.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("lwademo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	webAddr := fs.String("web-addr", "auto", "second origin for the sign-in page's cross-origin calls (auto: -addr's port + 1; off)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var opts []core.Option
	var fake *lwatest.Server
	if os.Getenv(core.EnvClientID) == "" {
		fake = lwatest.NewServer()
		defer fake.Close()
		opts = append(opts, core.WithClientID(demoClientID), core.WithEndpoint(fake.URL))
	}
	v, err := core.NewVerifier(opts...)
	if err != nil {
		return err
	}
	defer v.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	site, err := startSite(v, fake, base, *addr, *webAddr) // browser sign-in, web.go
	if err != nil {
		ln.Close()
		return err
	}
	defer site.close()
	srv := &http.Server{Handler: site.handler(routes(v)), ReadHeaderTimeout: 5 * time.Second}

	if fake != nil {
		printOffline(out, fake, base)
	} else {
		fmt.Fprintf(out, "lwademo: verifying tokens for client ID(s) %s against %s\n", strings.Join(v.ClientIDs(), ", "), v.Endpoint())
		fmt.Fprintf(out, "curl -i -H 'Authorization: Bearer <your LWA access token>' %s/me\n", base)
	}
	site.printHelp(out)
	if ready != nil {
		ready <- ln.Addr().String()
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

// routes is the demo API.
func routes(v *core.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"hello": "world", "try": "/me with an LWA token"})
	})
	mux.Handle("GET /me", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		writeJSON(w, p)
	})))
	optional := stdlwa.New(v, stdlwa.Config{Policy: core.Policy{Optional: true}})
	mux.Handle("GET /hello", optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := stdlwa.Profile(r); ok {
			writeJSON(w, map[string]string{"hello": p.Name})
			return
		}
		writeJSON(w, map[string]string{"hello": "stranger"})
	})))
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// printOffline issues the demo tokens and prints a curl command for each
// case, each on its own line, preceded by what it should answer.
func printOffline(out io.Writer, fake *lwatest.Server, base string) {
	mine := fake.Issue(demoClientID, core.Profile{
		UserID: "amzn1.account.DEMOUSER", Email: "ada@example.com", Name: "Ada Lovelace", PostalCode: "98052",
	})
	theirs := fake.Issue("amzn1.application-oa2-client.someoneelse", core.Profile{Name: "Mallory"})
	fmt.Fprintf(out, "lwademo: serving on %s, offline against an embedded fake Login with Amazon server (LWA_CLIENT_ID is unset)\n\n", base)
	fmt.Fprintln(out, "# a valid token: 200 and the profile")
	fmt.Fprintf(out, "curl -i -H 'Authorization: Bearer %s' %s/me\n", mine, base)
	fmt.Fprintln(out, "# a token issued to another app: 404 not_found")
	fmt.Fprintf(out, "curl -i -H 'Authorization: Bearer %s' %s/me\n", theirs, base)
	fmt.Fprintln(out, "# no token: 400 invalid_request")
	fmt.Fprintf(out, "curl -i %s/me\n", base)
	fmt.Fprintln(out, "# optional credentials, no token: 200 and a greeting for a stranger")
	fmt.Fprintf(out, "curl -i %s/hello\n", base)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
}
