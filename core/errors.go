package core

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes written in the "error" member of a rejection's JSON body. They
// are LWA's documented codes (RFC 6750's names) plus not_found for a token
// issued to another app.
const (
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	CodeNotFound          = "not_found"
	CodeServerError       = "server_error"
)

// Sentinel errors, one per row of the error table. Every *Error matches
// exactly one of them with errors.Is, except a caller's own cancelled context
// (which matches context.Canceled or context.DeadlineExceeded instead).
var (
	// ErrMissingToken: the request carries no access token (400 invalid_request).
	ErrMissingToken = errors.New("lwa: no access token")
	// ErrMalformedToken: a token that cannot be an LWA access token, or two
	// different tokens in one request (400 invalid_request).
	ErrMalformedToken = errors.New("lwa: malformed access token")
	// ErrInvalidToken: Amazon says the token is expired, revoked, malformed or
	// unknown (400 invalid_token).
	ErrInvalidToken = errors.New("lwa: invalid access token")
	// ErrInsufficientScope: the token lacks a scope the app requires
	// (401 insufficient_scope).
	ErrInsufficientScope = errors.New("lwa: insufficient scope")
	// ErrNotOurToken: the token was issued to another LWA app: its audience
	// is not one of the configured client IDs (404 not_found).
	ErrNotOurToken = errors.New("lwa: token issued to another client")
	// ErrUpstream: Amazon was unreachable, failed, or answered something that
	// is not its documented JSON (502 server_error).
	ErrUpstream = errors.New("lwa: upstream failure")
	// ErrUpstreamTimeout: Amazon did not answer within the verification
	// timeout (504 server_error).
	ErrUpstreamTimeout = errors.New("lwa: upstream timeout")
	// ErrUpstreamUnavailable: Amazon failed repeatedly and the circuit
	// breaker stopped asking it for a moment (503 server_error, with
	// Retry-After).
	ErrUpstreamUnavailable = errors.New("lwa: upstream unavailable")
	// ErrOverloaded: too many verifications are already waiting for a
	// concurrency slot (WithMaxPendingVerifications): a new token is
	// answered at once instead of queueing (503 server_error, with
	// Retry-After).
	ErrOverloaded = errors.New("lwa: too many verifications waiting")
	// ErrPreflight: not a rejection but the middleware's own answer to a CORS
	// preflight request (204 No Content, no body, no error code). Adapters
	// write it as a bare 204 and call nothing after the middleware.
	ErrPreflight = errors.New("lwa: CORS preflight answered by the middleware")
)

// errPreflight is the answer to a CORS preflight.
func errPreflight() *Error {
	return &Error{Status: http.StatusNoContent, Description: "CORS preflight", kind: ErrPreflight}
}

// Error is a rejection of a request: every error returned by Verify and by
// the adapters is a *Error (use errors.As). Its fields are what the adapters
// write to the client; it never contains the token.
type Error struct {
	// Status is the HTTP status to answer with.
	Status int
	// Code is the "error" member of the body, one of the Code constants.
	Code string
	// Description is the "error_description" member: fixed, human-readable
	// text chosen by this library (Amazon's own text is never reflected).
	Description string
	// RequestID is Amazon's x-amzn-RequestId of the answer that decided the
	// rejection, when there was one; useful when talking to Amazon support.
	RequestID string
	// RetryAfter, when positive, is sent as a Retry-After header (in whole
	// seconds, rounded up): on 503s, when the client may try again.
	RetryAfter time.Duration

	kind  error // one of the sentinels
	cause error // what went wrong underneath; may be nil
}

// Error returns a one-line summary for logs. It never contains the token.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("lwa: ")
	b.WriteString(strconv.Itoa(e.Status))
	b.WriteByte(' ')
	b.WriteString(e.Code)
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.cause != nil && e.cause != e.kind {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the underlying cause: a network error, a context error, a
// decoding error, or the row's sentinel when there is nothing deeper.
func (e *Error) Unwrap() error {
	if e.cause != nil {
		return e.cause
	}
	return e.kind
}

// Is reports whether target is the sentinel of e's row of the error table.
func (e *Error) Is(target error) bool {
	return e.kind != nil && target == e.kind
}

// newError builds the rejection for one row of the table. cause must never
// carry the token.
func newError(kind error, description string, cause error) *Error {
	e := &Error{Description: description, kind: kind, cause: cause}
	switch kind {
	case ErrMissingToken, ErrMalformedToken:
		e.Status, e.Code = 400, CodeInvalidRequest
	case ErrInvalidToken:
		e.Status, e.Code = 400, CodeInvalidToken
	case ErrInsufficientScope:
		e.Status, e.Code = 401, CodeInsufficientScope
	case ErrNotOurToken:
		e.Status, e.Code = 404, CodeNotFound
	case ErrUpstreamTimeout:
		e.Status, e.Code = 504, CodeServerError
	case ErrUpstreamUnavailable, ErrOverloaded:
		e.Status, e.Code = 503, CodeServerError
	default:
		e.Status, e.Code = 502, CodeServerError
	}
	return e
}

// withRequestID returns a copy of e carrying Amazon's request id.
func (e *Error) withRequestID(id string) *Error {
	if id == "" {
		return e
	}
	c := *e
	c.RequestID = id
	return &c
}

// AsError returns err as a *Error. An error that is not one (which the
// library never returns, but a custom handler might pass along) becomes a
// 500 server_error that wraps it, so that a response is always written and
// never lets the request through.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: 500, Code: CodeServerError, Description: "internal error", cause: err}
}

// errRevoked answers a token this server revoked (Revoke, RevokeUser).
func errRevoked() *Error {
	return newError(ErrInvalidToken, "the access token is expired, revoked, malformed or unknown", nil)
}
