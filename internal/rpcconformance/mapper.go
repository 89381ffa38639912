package rpcconformance

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// testErrorMapper: the app's error mapper chooses the error of a rejected
// call, with the *core.Error and the method in hand; whatever it answers,
// the handler never runs and the call fails.
func testErrorMapper(t *testing.T, a Adapter) {
	type seenErr struct {
		e      *core.Error
		method string
	}
	var mu sync.Mutex
	var got []seenErr
	answer := MapCustom
	e := newEnv(t, a, Setup{OnError: func(ce *core.Error, method string) Mapped {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seenErr{ce, method})
		return answer
	}})
	take := func() []seenErr {
		mu.Lock()
		defer mu.Unlock()
		g := got
		got = nil
		return g
	}
	setAnswer := func(m Mapped) {
		mu.Lock()
		defer mu.Unlock()
		answer = m
	}
	tok, p := e.issue("alice")
	revoked, _ := e.issue("gone")
	e.srv.Revoke(revoked)

	t.Run("custom status", func(t *testing.T) {
		for _, method := range []string{UnaryMethod, StreamMethod} {
			c := e.call(t, method)
			assert.False(t, c.ran, "the handler must not run on a rejection")
			assert.Equal(t, uint32(CustomCode), c.Code)
			assert.Equal(t, "custom "+core.CodeInvalidRequest, c.Message)
			g := take()
			require.Len(t, g, 1)
			assert.Equal(t, method, g[0].method)
			assert.ErrorIs(t, g[0].e, core.ErrMissingToken)
			assert.Equal(t, 400, g[0].e.Status)
			assert.Empty(t, g[0].e.RequestID)

			c = e.call(t, method, auth, bearer(revoked))
			assert.False(t, c.ran)
			assert.Equal(t, uint32(CustomCode), c.Code)
			assert.Equal(t, "custom "+core.CodeInvalidToken, c.Message)
			g = take()
			require.Len(t, g, 1)
			assert.ErrorIs(t, g[0].e, core.ErrInvalidToken)
			assert.Equal(t, e.requestID(t, tokeninfoRID), g[0].e.RequestID)
		}
		e.acceptBoth(t, &p, auth, bearer(tok))
		assert.Empty(t, take(), "no mapper call for an accepted call")
	})
	t.Run("plain error", func(t *testing.T) {
		setAnswer(MapPlain)
		for _, method := range []string{UnaryMethod, StreamMethod} {
			c := e.call(t, method)
			assert.False(t, c.ran)
			assert.Equal(t, codeUnknown, c.Code, "a plain error is answered Unknown")
			assert.Equal(t, "plain "+core.CodeInvalidRequest, c.Message)
			require.Len(t, take(), 1)
		}
	})
	// A mapper that answers no error, or an error whose code is OK, gets
	// the default rejection.
	for name, m := range map[string]Mapped{"nil": MapNil, "OK": MapOK} {
		t.Run(name, func(t *testing.T) {
			setAnswer(m)
			e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidRequest}, noRID)
			revoked, _ := e.issue("gone" + name)
			e.srv.Revoke(revoked)
			e.rejectBoth(t, rejection{code: codeUnauthenticated, reason: core.CodeInvalidToken}, tokeninfoRID, auth, bearer(revoked))
			e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 2})
			down, _ := e.issue("down" + name)
			e.rejectBoth(t, rejection{code: codeUnavailable, reason: core.CodeServerError}, tokeninfoRID, auth, bearer(down))
			assert.Len(t, take(), 6)
		})
	}
}
