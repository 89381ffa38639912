package main

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/stdlwa"
)

// The outage scenario's server and its client side: the std adapter on
// /protected, whose rejections say which of core's sentinels they matched,
// and the request each simulated client sends. The only calls into core's
// adapter-facing API of the scenario are here.

// errorKindHeader carries, on a rejection, which sentinel it matched: the
// std adapter's ErrorHandler sets it and lets the default JSON error be
// written.
const errorKindHeader = "X-Lwabench-Error"

// Kinds of rejection, in errorKindHeader.
const (
	kindUnavailable = "unavailable" // ErrUpstreamUnavailable: the breaker is open
	kindOverloaded  = "overloaded"  // ErrOverloaded
	kindTimeout     = "timeout"     // ErrUpstreamTimeout
	kindUpstream    = "upstream"    // ErrUpstream
	kindOther       = "other"
)

func errorKind(err error) string {
	switch {
	case errors.Is(err, core.ErrUpstreamUnavailable):
		return kindUnavailable
	case errors.Is(err, core.ErrOverloaded):
		return kindOverloaded
	case errors.Is(err, core.ErrUpstreamTimeout):
		return kindTimeout
	case errors.Is(err, core.ErrUpstream):
		return kindUpstream
	}
	return kindOther
}

// outageRouter is the std adapter on /protected, with an ErrorHandler that
// only labels the rejection (the default JSON error is still written).
func outageRouter(v *core.Verifier) http.Handler {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(okBody))
	})
	mw := stdlwa.New(v, stdlwa.Config{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err *core.Error) {
		w.Header().Set(errorKindHeader, errorKind(err))
	}})
	mux := http.NewServeMux()
	mux.Handle("GET "+protectedRoute, mw(ok))
	return mux
}

// send sends one request and returns its status (0 without an answer) and
// the kind of rejection the server labelled it with.
func send(ctx context.Context, client *http.Client, url, authorization string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	req.Header["Authorization"] = []string{authorization}
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<12))
	return resp.StatusCode, resp.Header.Get(errorKindHeader)
}
