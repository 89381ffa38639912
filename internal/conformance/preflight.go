package conformance

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-lwa/lwa/core"
)

// testPreflight: a CORS preflight carries no credentials and never reaches
// the protected handler unauthenticated; by default the middleware answers
// it itself.
func testPreflight(t *testing.T, a Adapter) {
	const acrm = "Access-Control-Request-Method"
	// preflight asserts the middleware's own answer to a preflight: a bare
	// 204, the protected handler not run, nothing asked of Amazon.
	preflight := func(t *testing.T, r response) {
		t.Helper()
		assert.Equal(t, http.StatusNoContent, r.status)
		assert.False(t, r.ran, "a preflight must not reach the protected handler")
		assert.Empty(t, r.body)
		assert.Empty(t, r.header.Get("WWW-Authenticate"))
	}
	t.Run("default", func(t *testing.T) {
		e := newEnv(t, a, Setup{})
		preflight(t, e.do(t, http.MethodOptions, "", acrm, "GET", "Origin", "https://app.example"))
		preflight(t, e.do(t, http.MethodOptions, "", acrm, "DELETE", auth, "Bearer")) // not even read
		e.noUpstream(t)
		e.reject(t, e.do(t, http.MethodOptions, ""), 400, core.CodeInvalidRequest, "") // not a preflight
		e.reject(t, e.do(t, http.MethodGet, "", acrm, "GET"), 400, core.CodeInvalidRequest, "")
	})
	t.Run("custom error handler not called", func(t *testing.T) {
		var calls atomic.Int32
		e := newEnv(t, a, Setup{OnError: func(*core.Error) ErrorAnswer {
			calls.Add(1)
			return ErrorAnswer{Status: http.StatusTeapot, Body: "custom"}
		}})
		preflight(t, e.do(t, http.MethodOptions, "", acrm, "GET"))
		assert.Zero(t, calls.Load())
	})
	t.Run("PassPreflight", func(t *testing.T) {
		e := newEnv(t, a, Setup{Policy: core.Policy{PassPreflight: true}})
		tok, _ := e.issue("alice")
		e.accept(t, e.do(t, http.MethodOptions, "", acrm, "GET"), nil)
		e.accept(t, e.do(t, http.MethodOptions, "", acrm, "GET", auth, bearer(tok)), nil) // not even read
		e.noUpstream(t)
		e.reject(t, e.do(t, http.MethodOptions, ""), 400, core.CodeInvalidRequest, "")
	})
	t.Run("CheckPreflight", func(t *testing.T) {
		e := newEnv(t, a, Setup{Policy: core.Policy{CheckPreflight: true}})
		tok, p := e.issue("alice")
		e.reject(t, e.do(t, http.MethodOptions, "", acrm, "GET"), 400, core.CodeInvalidRequest, "")
		e.accept(t, e.do(t, http.MethodOptions, "", acrm, "GET", auth, bearer(tok)), &p)
	})
}
