package rpcconformance

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
)

// testErrorTable: every row of the error table, with its code, details
// and request id, on unary and streaming calls.
func testErrorTable(t *testing.T, a Adapter) {
	t.Run("no token", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID)
		e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID, auth, "", amz, "")
		e.noUpstream(t)
	})
	t.Run("two different tokens", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		t1, _ := e.issue("one")
		t2, _ := e.issue("two")
		e.rejectBoth(t, rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}, noRID, auth, bearer(t1), amz, t2)
		e.noUpstream(t)
	})
	t.Run("malformed", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		for name, kv := range map[string][]string{
			"space":                {amz, "Atza|abc def"},
			"encoded control char": {amz, "Atza%7Cab%01cd"},
			"encoded space":        {auth, bearer("Atza%7Cab%20cd")},
			"encoded non-ASCII":    {amz, "Atza|caf%C3%A9"},
			"bad escape":           {auth, bearer("Atza%ZZabc")},
			"oversized":            {auth, bearer("Atza|" + strings.Repeat("a", core.MaxTokenLen-4))},
		} {
			t.Run(name, func(t *testing.T) {
				e.rejectBoth(t, rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}, noRID, kv...)
			})
		}
		e.noUpstream(t)
	})
	t.Run("revoked", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("revoked")
		e.srv.Revoke(tok)
		e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidToken}, tokeninfoRID, auth, bearer(tok))
	})
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("expired")
		e.srv.Expire(tok)
		e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidToken}, tokeninfoRID, auth, bearer(tok))
	})
	t.Run("insufficient scope", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("noscope", lwatest.WithScopes())
		e.rejectBoth(t, rejection{code: codePermissionDenied, reason: core.CodeInsufficientScope}, profileRID, auth, bearer(tok))
	})
	t.Run("required field missing", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithRequiredFields(core.FieldPostalCode))
		tok, _ := e.issue("nopostal", lwatest.WithScopes("profile"))
		e.rejectBoth(t, rejection{code: codePermissionDenied, reason: core.CodeInsufficientScope}, profileRID, auth, bearer(tok))
		withPostal, p := e.issue("postal")
		e.acceptBoth(t, &p, auth, bearer(withPostal))
	})
	t.Run("other app's token", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"})
		e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeNotFound}, tokeninfoRID, auth, bearer(tok))
	})
	t.Run("upstream 500", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("down")
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
		e.rejectBoth(t, rejection{code: codeUnavailable, reason: core.CodeServerError}, tokeninfoRID, auth, bearer(tok))
	})
	t.Run("upstream not JSON", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("html")
		e.srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: "<html>oops</html>", ContentType: "text/html"})
		e.rejectBoth(t, rejection{code: codeUnavailable, reason: core.CodeServerError}, profileRID, auth, bearer(tok))
	})
	t.Run("upstream hangs", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTimeout(100*time.Millisecond))
		tok, p := e.issue("hang")
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		e.rejectBoth(t, rejection{code: codeDeadlineExceeded, reason: core.CodeServerError}, noRID, auth, bearer(tok))
		// Not cached: once Amazon answers again, the token passes.
		e.srv.Recover()
		e.acceptBoth(t, &p, auth, bearer(tok))
	})
}

// waiting counts the verifications waiting for a concurrency slot.
type waiting struct {
	observe.Nop
	n atomic.Int64
}

func (w *waiting) VerificationWaiting(_ context.Context, d int) { w.n.Add(int64(d)) }

// testUnavailable: the two rows a client may retry later, with their
// RetryInfo.
func testUnavailable(t *testing.T, a Adapter) {
	t.Run("circuit breaker open", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithCircuitBreaker(1, time.Minute))
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
		first, _ := e.issue("first")
		c := e.unary(t, auth, bearer(first))
		e.reject(t, c, rejection{code: codeUnavailable, reason: core.CodeServerError, rid: e.requestID(t, tokeninfoRID)})
		calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
		next, _ := e.issue("next")
		e.rejectBoth(t, rejection{code: codeUnavailable, reason: core.CodeServerError, retry: time.Minute}, noRID, auth, bearer(next))
		assert.Equal(t, calls, e.srv.CallCount(lwatest.EndpointTokenInfo), "the open breaker asked nobody")
	})
	t.Run("too many waiting", func(t *testing.T) {
		w := &waiting{}
		e := newEnv(t, a, Setup{}, core.WithConcurrency(1, 1),
			core.WithObserver(w), core.WithTimeout(20*time.Second))
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		var wg sync.WaitGroup
		for _, name := range []string{"holder", "waiter"} {
			tok, _ := e.issue(name)
			wg.Go(func() { e.client.Call(context.Background(), UnaryMethod, auth, bearer(tok)) })
			if name == "holder" {
				require.Eventually(t, func() bool { return e.srv.CallCount(lwatest.EndpointTokenInfo) == 1 }, 10*time.Second, time.Millisecond)
			}
		}
		require.Eventually(t, func() bool { return w.n.Load() == 1 }, 10*time.Second, time.Millisecond, "the waiter waits for the slot")
		third, _ := e.issue("third")
		e.rejectBoth(t, rejection{code: codeUnavailable, reason: core.CodeServerError, retry: time.Second}, noRID, auth, bearer(third))
		e.srv.Close() // releases the hanging calls
		wg.Wait()
	})
}

// testRFC6750: core.WithRFC6750Statuses changes the HTTP statuses only:
// the codes stay, and the reason of another app's token is invalid_token,
// as the HTTP body's error is.
func testRFC6750(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{}, core.WithRFC6750Statuses(), core.WithRequiredFields(core.FieldPostalCode))
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID)
	e.rejectBoth(t, rejection{code: codeInvalidArgument, reason: core.CodeInvalidRequest}, noRID, auth, bearer("a"), amz, "b")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidToken}, tokeninfoRID, auth, bearer(revoked))
	foreign := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.X"})
	e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidToken}, tokeninfoRID, auth, bearer(foreign))
	noPostal, _ := e.issue("carol", lwatest.WithScopes("profile"))
	e.rejectBoth(t, rejection{code: codePermissionDenied, reason: core.CodeInsufficientScope}, profileRID, auth, bearer(noPostal))
	tok, p := e.issue("alice")
	e.acceptBoth(t, &p, auth, bearer(tok))
}

// testCallerGone: a client that hangs up while its token is being verified
// gets nothing, and the interceptor ends the call with a rejection that
// matches context.Canceled (the handler never runs).
func testCallerGone(t *testing.T, a Adapter) {
	var mu sync.Mutex
	var got []error
	e := newEnv(t, a, Setup{OnError: func(ce *core.Error, _ string) Mapped {
		mu.Lock()
		got = append(got, ce)
		mu.Unlock()
		return MapNil // the default answer
	}}, core.WithTimeout(20*time.Second))
	e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
	methods := []string{UnaryMethod, StreamMethod}
	if a.HalfDuplex {
		methods = methods[:1]
	}
	for _, method := range methods {
		tok, _ := e.issue("impatient" + method[len(method)-4:])
		ctx, cancel := context.WithCancel(context.Background())
		before := e.srv.CallCount(lwatest.EndpointTokenInfo)
		done := make(chan Result, 1)
		go func() { done <- e.client.Call(ctx, method, auth, bearer(tok)) }()
		// The interceptor is verifying the token: Amazon was asked.
		require.Eventually(t, func() bool { return e.srv.CallCount(lwatest.EndpointTokenInfo) > before }, 10*time.Second, time.Millisecond)
		cancel()
		r := <-done
		assert.Equal(t, codeCanceled, r.Code, "%s: the client's own cancellation", method)
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == 1
		}, 10*time.Second, time.Millisecond, "%s: the interceptor rejects the call", method)
		mu.Lock()
		ce := got[0]
		got = nil
		mu.Unlock()
		assert.True(t, errors.Is(ce, context.Canceled), "%s: %v matches context.Canceled", method, ce)
	}
	assert.Zero(t, e.hits.Load(), "the handler never ran")
	e.srv.Close() // releases the hanging verifications
}
