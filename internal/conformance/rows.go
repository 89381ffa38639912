package conformance

import (
	"context"
	"net/http"
	"net/url"
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

// testErrorTable: every row of the error table, with its status, body,
// headers and request id.
func testErrorTable(t *testing.T, a Adapter) {
	t.Run("no token", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
		e.noUpstream(t)
	})
	t.Run("two different tokens", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		t1, _ := e.issue("one")
		t2, _ := e.issue("two")
		e.reject(t, e.get(t, "", auth, bearer(t1), core.HeaderAmzAccessToken, t2), 400, core.CodeInvalidRequest, "")
		e.reject(t, e.get(t, "access_token="+url.QueryEscape(t2), auth, bearer(t1)), 400, core.CodeInvalidRequest, "")
		e.noUpstream(t)
	})
	t.Run("malformed", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		for name, send := range map[string]func() response{
			"space":         func() response { return e.get(t, "", core.HeaderAmzAccessToken, "Atza|abc def") },
			"control char":  func() response { return e.get(t, "access_token=Atza%7Cab%01cd") },
			"encoded space": func() response { return e.get(t, "", auth, bearer("Atza%7Cab%20cd")) },
			"non-ASCII":     func() response { return e.get(t, "", core.HeaderAmzAccessToken, "Atza|caf\xc3\xa9") },
			"bad escape":    func() response { return e.get(t, "", auth, bearer("Atza%ZZabc")) },
			"oversized":     func() response { return e.get(t, "", auth, bearer("Atza|"+strings.Repeat("a", core.MaxTokenLen-4))) },
		} {
			t.Run(name, func(t *testing.T) { e.reject(t, send(), 400, core.CodeInvalidRequest, "") })
		}
		e.noUpstream(t)
	})
	t.Run("revoked", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("revoked")
		e.srv.Revoke(tok)
		e.reject(t, e.get(t, "", auth, bearer(tok)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("expired")
		e.srv.Expire(tok)
		e.reject(t, e.get(t, "", auth, bearer(tok)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("insufficient scope", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("noscope", lwatest.WithScopes())
		e.reject(t, e.get(t, "", auth, bearer(tok)), 401, core.CodeInsufficientScope, e.rid(t, lwatest.EndpointProfile))
	})
	t.Run("required field missing", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithRequiredFields(core.FieldPostalCode))
		tok, _ := e.issue("nopostal", lwatest.WithScopes("profile"))
		e.reject(t, e.get(t, "", auth, bearer(tok)), 401, core.CodeInsufficientScope, e.rid(t, lwatest.EndpointProfile))
		withPostal, p := e.issue("postal")
		e.accept(t, e.get(t, "", auth, bearer(withPostal)), &p)
	})
	t.Run("other app's token", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.OTHER"})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 404, core.CodeNotFound, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("upstream 500", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("down")
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 502, core.CodeServerError, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("upstream not JSON", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		tok, _ := e.issue("html")
		e.srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: "<html>oops</html>", ContentType: "text/html"})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 502, core.CodeServerError, e.rid(t, lwatest.EndpointProfile))
	})
	t.Run("upstream hangs", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithTimeout(100*time.Millisecond))
		tok, p := e.issue("hang")
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		e.reject(t, e.get(t, "", auth, bearer(tok)), 504, core.CodeServerError, "")
		// Not cached: once Amazon answers again, the token passes.
		e.srv.Recover()
		e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	})
}

// waiting counts the verifications waiting for a concurrency slot.
type waiting struct {
	observe.Nop
	n atomic.Int64
}

func (w *waiting) VerificationWaiting(_ context.Context, d int) { w.n.Add(int64(d)) }

// testUnavailable: the two 503 rows, with Retry-After, through the adapter.
func testUnavailable(t *testing.T, a Adapter) {
	t.Run("circuit breaker open", func(t *testing.T) {
		e := newEnv(t, a, Setup{}, core.WithCircuitBreaker(1, time.Minute))
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
		first, _ := e.issue("first")
		e.reject(t, e.get(t, "", auth, bearer(first)), 502, core.CodeServerError, e.rid(t, lwatest.EndpointTokenInfo))
		calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
		next, _ := e.issue("next")
		r := e.get(t, "", auth, bearer(next))
		e.reject(t, r, 503, core.CodeServerError, "")
		assert.Equal(t, "60", r.header.Get("Retry-After"))
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
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, e.url+Path, nil)
				req.Header.Set(auth, bearer(tok))
				if resp, err := e.client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			if name == "holder" {
				require.Eventually(t, func() bool { return e.srv.CallCount(lwatest.EndpointTokenInfo) == 1 }, 10*time.Second, time.Millisecond)
			}
		}
		require.Eventually(t, func() bool { return w.n.Load() == 1 }, 10*time.Second, time.Millisecond, "the waiter waits for the slot")
		third, _ := e.issue("third")
		r := e.get(t, "", auth, bearer(third))
		e.reject(t, r, 503, core.CodeServerError, "")
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		e.srv.Close() // releases the hanging calls
		wg.Wait()
	})
}

// testRFC6750: the opt-in RFC 6750 statuses, through the adapter.
func testRFC6750(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{}, core.WithRFC6750Statuses(), core.WithRequiredFields(core.FieldPostalCode))
	check := func(r response, status int, code, challenge string) {
		t.Helper()
		assert.False(t, r.ran, "the handler must not run on a rejection")
		assert.Equal(t, status, r.status, "body: %s", r.body)
		assert.Contains(t, string(r.body), `"error":"`+code+`"`)
		assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
	}
	check(e.get(t, ""), 401, core.CodeInvalidRequest, "Bearer")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)
	check(e.get(t, "", auth, bearer(revoked)), 401, core.CodeInvalidToken,
		`Bearer error="invalid_token", error_description="the access token is expired, revoked, malformed or unknown"`)
	foreign := e.srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.X"})
	r := e.get(t, "", auth, bearer(foreign))
	check(r, 401, core.CodeInvalidToken, r.header.Get("WWW-Authenticate"))
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `error="invalid_token"`)
	noPostal, _ := e.issue("carol", lwatest.WithScopes("profile"))
	r = e.get(t, "", auth, bearer(noPostal))
	check(r, 403, core.CodeInsufficientScope, r.header.Get("WWW-Authenticate"))
	assert.Contains(t, r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	check(e.get(t, "", auth, bearer("a"), core.HeaderAmzAccessToken, "b"), 400, core.CodeInvalidRequest,
		`Bearer error="invalid_request", error_description="the request carries two different access tokens"`)
	tok, p := e.issue("alice")
	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
}
