package conformance

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// testCustomErrorHandler: the app's error handler answers rejections, with
// the *core.Error in hand.
func testCustomErrorHandler(t *testing.T, a Adapter) {
	var mu sync.Mutex
	var got []*core.Error
	e := newEnv(t, a, Setup{OnError: func(ce *core.Error) ErrorAnswer {
		mu.Lock()
		got = append(got, ce)
		mu.Unlock()
		if ce == nil {
			return ErrorAnswer{Status: http.StatusInternalServerError, Body: "not a *core.Error"}
		}
		return ErrorAnswer{Status: http.StatusTeapot, Body: "custom " + ce.Code}
	}})
	tok, p := e.issue("alice")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)

	check := func(r response, code string) *core.Error {
		t.Helper()
		assert.False(t, r.ran, "the handler must not run on a rejection")
		assert.Equal(t, http.StatusTeapot, r.status)
		assert.Equal(t, "custom "+code, string(r.body))
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 1)
		ce := got[0]
		got = nil
		return ce
	}
	ce := check(e.get(t, ""), core.CodeInvalidRequest)
	assert.Equal(t, 400, ce.Status)
	assert.ErrorIs(t, ce, core.ErrMissingToken)
	assert.Empty(t, ce.RequestID)

	ce = check(e.get(t, "", auth, bearer(revoked)), core.CodeInvalidToken)
	assert.Equal(t, 400, ce.Status)
	assert.ErrorIs(t, ce, core.ErrInvalidToken)
	assert.Equal(t, e.rid(t, lwatest.EndpointTokenInfo), ce.RequestID)

	e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	mu.Lock()
	assert.Empty(t, got, "no error handler call for an accepted request")
	mu.Unlock()
}

// testErrorHandlerGuards: a custom error handler can neither let the request
// through nor turn the rejection into a success.
func testErrorHandlerGuards(t *testing.T, a Adapter) {
	t.Run("writes nothing", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer { return ErrorAnswer{} }})
		e.reject(t, e.get(t, ""), 400, core.CodeInvalidRequest, "")
		revoked, _ := e.issue("gone")
		e.srv.Revoke(revoked)
		e.reject(t, e.get(t, "", auth, bearer(revoked)), 400, core.CodeInvalidToken, e.rid(t, lwatest.EndpointTokenInfo))
	})
	t.Run("writes a success", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer { return ErrorAnswer{Status: http.StatusOK, Body: "all good"} }})
		r := e.get(t, "")
		assert.False(t, r.ran, "the handler must not run on a rejection")
		assert.Equal(t, http.StatusBadRequest, r.status, "a rejection never becomes a 2xx")
		r = e.get(t, "", auth, bearer("Atza|not-a-real-token"))
		assert.False(t, r.ran)
		assert.Equal(t, http.StatusBadRequest, r.status)
	})
	t.Run("redirects", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer { return ErrorAnswer{Status: http.StatusSeeOther, Body: "to login"} }})
		r := e.get(t, "")
		assert.False(t, r.ran)
		assert.Equal(t, http.StatusSeeOther, r.status, "a 3xx (to a login page) is the app's choice")
	})
	t.Run("headers are set before it runs", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer { return ErrorAnswer{Status: http.StatusTeapot, Body: "teapot"} }})
		r := e.get(t, "")
		assert.Equal(t, http.StatusTeapot, r.status)
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.Equal(t, core.NewError(core.ErrMissingToken, "the request carries no access token").WWWAuthenticate(),
			r.header.Get("WWW-Authenticate"))
		e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
		bad, _ := e.issue("down")
		r = e.get(t, "", auth, bearer(bad))
		assert.Equal(t, http.StatusTeapot, r.status)
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.Empty(t, r.header.Get("WWW-Authenticate"), "no challenge for an upstream failure")
	})
	t.Run("flushes", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer {
			return ErrorAnswer{Flush: true, Status: http.StatusOK, Body: "flushed"}
		}})
		r := e.get(t, "")
		assert.False(t, r.ran)
		assert.Equal(t, http.StatusBadRequest, r.status, "a flush's implicit 200 never goes out")
		revoked, _ := e.issue("gone")
		e.srv.Revoke(revoked)
		r = e.get(t, "", auth, bearer(revoked))
		assert.False(t, r.ran)
		assert.Equal(t, http.StatusBadRequest, r.status)
	})
	t.Run("hijacks", func(t *testing.T) {
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer { return ErrorAnswer{Hijack: true} }})
		for range 2 { // twice: the connection must still serve
			r := e.get(t, "")
			assert.False(t, r.ran)
			assert.Equal(t, http.StatusBadRequest, r.status, "hijacking must not answer a success")
			assert.NotContains(t, string(r.body), "hacked")
		}
	})
}
