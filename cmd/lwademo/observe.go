package main

// Observability: the verifier's metrics (package otellwa, exported in
// Prometheus format on GET /metrics), and a request log that says how each
// request's token was handled.
//
// The request log needs no API of its own from core: it wraps the otellwa
// Observer. logRequests puts a small record (handling) into each request's
// context; the Observer's hooks, which core calls with that context, fill
// it in:
//
//   - Request (the request's context): the middleware's decision,
//     authenticated, anonymous or rejected with a code;
//   - CacheLookup (the request's context for the local tier; for the
//     shared tier, the context of the request that started the
//     verification): a hit in either tier;
//   - VerificationStart (the context of the request that started the
//     verification): Amazon was asked.
//
// An authenticated request that missed the local tier and saw neither a
// shared hit nor Amazon in its own context waited for the verification
// another request had started: it was coalesced. That last label is an
// inference, exact for the demo's setup: it would also cover a request that
// missed the local tier just as another request's verification stored the
// token (served by that verification all the same), and an answer served
// stale while Amazon fails (core.WithStaleIfError, which the demo does not
// use), since core reports no event for either.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/otellwa"
)

// howObserver is the otellwa Observer, plus notes for the request log.
type howObserver struct {
	*otellwa.Observer
}

var _ core.Observer = howObserver{}

func (o howObserver) Request(ctx context.Context, ev observe.RequestEvent) {
	o.Observer.Request(ctx, ev)
	if h := handlingOf(ctx); h != nil {
		h.mu.Lock()
		h.decided, h.outcome, h.code = true, ev.Outcome, ev.Code
		h.mu.Unlock()
	}
}

func (o howObserver) CacheLookup(ctx context.Context, ev observe.CacheEvent) {
	o.Observer.CacheLookup(ctx, ev)
	if ev.Result != observe.LookupHit {
		return
	}
	if h := handlingOf(ctx); h != nil {
		h.mu.Lock()
		if ev.Tier == observe.TierLocal {
			h.localHit = true
		} else {
			h.sharedHit = true
		}
		h.mu.Unlock()
	}
}

func (o howObserver) VerificationStart(ctx context.Context) context.Context {
	if h := handlingOf(ctx); h != nil {
		h.mu.Lock()
		h.upstream = true
		h.mu.Unlock()
	}
	return o.Observer.VerificationStart(ctx)
}

// handling is what the request log learns about one request. A
// verification may outlive its request (its first caller gave up), and a
// background refresh ahead of expiry carries its request's context: hence
// the lock.
type handling struct {
	mu                            sync.Mutex
	decided                       bool // the lwa middleware decided
	outcome                       observe.Outcome
	code                          string
	skipped                       bool // the middleware's Skip let it through
	localHit, sharedHit, upstream bool
}

type handlingKey struct{}

func handlingOf(ctx context.Context) *handling {
	h, _ := ctx.Value(handlingKey{}).(*handling)
	return h
}

// noteSkipped records that the middleware's Skip let the request through.
func noteSkipped(ctx context.Context) {
	if h := handlingOf(ctx); h != nil {
		h.mu.Lock()
		h.skipped = true
		h.mu.Unlock()
	}
}

// logHows is every value the request log's how= field takes (how, below),
// with what it means: the demo prints it at startup, and the package doc
// lists it (observe_test.go checks both against how).
var logHows = []struct{ how, means string }{
	{"public", "a route without the lwa middleware: the page, the sign-in, /, /metrics, an unknown path or method"},
	{"preflight", "a CORS preflight, answered before lwa (it carries no token)"},
	{"skipped", "let through untouched by the middleware's Skip (/healthz)"},
	{"anonymous", "no token, on a route where credentials are optional (/hello)"},
	{"rejected <code>", "refused: invalid_request, invalid_token, insufficient_scope, not_found or server_error"},
	{"local cache", "verified from this process's cache"},
	{"shared cache", "verified from the shared tier (-redis), sealed in Redis by another replica"},
	{"verified upstream", "verified by asking Amazon (tokeninfo and profile)"},
	{"coalesced", "waited for the verification another request had started"},
}

// printLogVocabulary explains the request log.
func printLogVocabulary(out io.Writer) {
	fmt.Fprintln(out, "lwademo: one log line per request: method, path, status, how its token was handled (never the token itself), duration; how= is one of:")
	for _, h := range logHows {
		fmt.Fprintf(out, "lwademo:   %-18s %s\n", h.how, h.means)
	}
}

// how says how the request's token was handled.
func (h *handling) how(r *http.Request) string {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		return "preflight" // answered by the CORS middleware, or by lwa itself
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.skipped:
		return "skipped"
	case !h.decided:
		return "public" // no lwa middleware on this route
	case h.outcome == observe.OutcomeRejected:
		return "rejected " + h.code
	case h.outcome == observe.OutcomeAnonymous:
		return "anonymous"
	case h.localHit:
		return "local cache"
	case h.sharedHit:
		return "shared cache"
	case h.upstream:
		return "verified upstream"
	default:
		return "coalesced" // waited for another request's verification
	}
}

// logRequests logs one line per request: method, path (never the query,
// which may carry access_token), status, how the token was handled, and
// the duration.
func logRequests(out io.Writer, next http.Handler) http.Handler {
	log := slog.New(slog.NewTextHandler(out, nil))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := &handling{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), handlingKey{}, h)))
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status()),
			slog.String("how", h.how(r)),
			slog.Duration("duration", time.Since(start)))
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// lockedWriter serialises the demo's writes to its output.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
