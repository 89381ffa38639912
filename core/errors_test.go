package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func TestCodeConstants(t *testing.T) {
	assert.Equal(t, "invalid_request", core.CodeInvalidRequest)
	assert.Equal(t, "invalid_token", core.CodeInvalidToken)
	assert.Equal(t, "insufficient_scope", core.CodeInsufficientScope)
	assert.Equal(t, "not_found", core.CodeNotFound)
	assert.Equal(t, "server_error", core.CodeServerError)
}

func TestSentinelsAreDistinct(t *testing.T) {
	for i, a := range sentinels {
		for j, b := range sentinels {
			assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}

func TestErrorText(t *testing.T) {
	e := &core.Error{Status: 400, Code: core.CodeInvalidToken, Description: "the token is bad", RequestID: "rid-1"}
	assert.Equal(t, "lwa: 400 invalid_token: the token is bad (request_id rid-1)", e.Error())

	e = &core.Error{Status: 404, Code: core.CodeNotFound}
	assert.Equal(t, "lwa: 404 not_found", e.Error())
}

func TestErrorTextCarriesTheCause(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 503})
	_, err := v.Verify(context.Background(), srv.Issue(clientID, alice))
	e := requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	assert.Contains(t, err.Error(), "503", "the cause is in the log line")
	assert.Contains(t, err.Error(), "tokeninfo")
	assert.Contains(t, err.Error(), e.RequestID)
	assert.NotContains(t, e.Description, "503", "the client-facing text is fixed")

	cause := errors.Unwrap(err)
	require.Error(t, cause)
	assert.False(t, errors.Is(cause, core.ErrUpstream), "the cause is what went wrong underneath")
}

func TestErrorUnwrap(t *testing.T) {
	// Hand-built: nothing underneath.
	assert.NoError(t, errors.Unwrap(&core.Error{Status: 400, Code: core.CodeInvalidRequest}))

	// A row with no deeper cause unwraps to its sentinel.
	_, err := core.ExtractToken(core.TokenSources{})
	assert.Equal(t, core.ErrMissingToken, errors.Unwrap(err))

	// A caller's cancelled context.
	srv := newServer(t)
	v := newVerifier(t, srv)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = v.Verify(ctx, srv.Issue(clientID, alice))
	require.Error(t, err)
	assert.Equal(t, context.Canceled, errors.Unwrap(err))
	srv.Recover()
}

func TestErrorIs(t *testing.T) {
	// A hand-built *Error matches the sentinel of the row it names, and only
	// that one; one that names no row matches none.
	for _, tc := range []struct {
		e    *core.Error
		want error
	}{
		{&core.Error{Status: 400, Code: core.CodeInvalidToken}, core.ErrInvalidToken},
		{&core.Error{Status: 401, Code: core.CodeInsufficientScope}, core.ErrInsufficientScope},
		{&core.Error{Status: 404, Code: core.CodeNotFound}, core.ErrNotOurToken},
		{&core.Error{Status: 503, Code: core.CodeServerError}, core.ErrUpstreamUnavailable},
		{&core.Error{Status: 418, Code: "teapot"}, nil},
	} {
		for _, s := range sentinels {
			assert.Equal(t, s == tc.want, errors.Is(tc.e, s), "%d %s vs %v", tc.e.Status, tc.e.Code, s)
		}
	}
	// A bare sentinel is written as its row; NewError builds one.
	for _, s := range sentinels {
		e := core.AsError(s)
		assert.ErrorIs(t, e, s)
		assert.NotEqual(t, 500, e.Status, "%v", s)
		assert.Same(t, s, errors.Unwrap(core.NewError(s, "why")), "%v", s)
		assert.Equal(t, "why", core.NewError(s, "why").Description)
	}
	w := httptest.NewRecorder()
	core.WriteError(w, core.ErrInsufficientScope)
	assert.Equal(t, 401, w.Code)
	assert.Contains(t, w.Body.String(), `"error":"insufficient_scope"`)
	assert.Equal(t, 500, core.NewError(errors.New("not a sentinel"), "x").Status)

	_, err := core.ExtractToken(core.TokenSources{Authorization: []string{"Basic x"}})
	e := requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMalformedToken)
	assert.False(t, e.Is(errors.New("lwa: malformed access token")), "same text, another error")
	assert.False(t, e.Is(nil))

	wrapped := fmt.Errorf("handler: %w", err)
	assert.ErrorIs(t, wrapped, core.ErrMalformedToken)
	var got *core.Error
	require.ErrorAs(t, wrapped, &got)
	assert.Same(t, e, got)
}

func TestAsError(t *testing.T) {
	assert.Nil(t, core.AsError(nil))

	plain := io.ErrUnexpectedEOF
	e := core.AsError(plain)
	require.NotNil(t, e)
	assert.Equal(t, 500, e.Status)
	assert.Equal(t, core.CodeServerError, e.Code)
	assert.NotEmpty(t, e.Description)
	assert.NotContains(t, e.Description, plain.Error(), "the cause is not shown to clients")
	assert.ErrorIs(t, e, plain)
	assert.Equal(t, plain, errors.Unwrap(e))
	for _, s := range sentinels {
		assert.NotErrorIs(t, e, s)
	}

	_, err := core.ExtractToken(core.TokenSources{})
	orig := core.AsError(err)
	assert.Same(t, orig, core.AsError(fmt.Errorf("wrapped: %w", err)), "a wrapped *Error is found")
	assert.Same(t, orig, core.AsError(orig))
}
