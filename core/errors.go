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

// Sentinel errors, one per row of the error table. Every *Error the library
// returns matches exactly one of them with errors.Is, except a caller's own
// cancelled context (which matches context.Canceled or
// context.DeadlineExceeded instead). A bare sentinel passed to WriteError or
// AsError is written as its row.
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
	// concurrency slot (WithConcurrency's second bound): a new token is
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
	bare  bool  // RFC 6750: a challenge without an error code (no token at all)
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

// StatusCode returns the status to answer e with: Status, or 500 when a
// hand-made *Error carries one outside 400–599 (a rejection is never a
// success). Frameworks that render errors carrying a StatusCode method
// (Echo v5's default HTTPErrorHandler) answer with it.
func (e *Error) StatusCode() int {
	if e.kind == ErrPreflight {
		return http.StatusNoContent
	}
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
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
// A hand-made *Error (one not built by NewError) matches the sentinel of
// the row its Status and Code name, if any.
func (e *Error) Is(target error) bool {
	if e.kind != nil {
		return target == e.kind
	}
	return target != nil && target == kindOf(e.Status, e.Code)
}

// kindOf is the sentinel of the row a status and code name, in either
// table (Amazon's or RFC 6750's); nil when none does. invalid_request names
// ErrMalformedToken, the row's general case.
func kindOf(status int, code string) error {
	switch {
	case code == CodeInvalidRequest && (status == 400 || status == 401):
		return ErrMalformedToken
	case code == CodeInvalidToken && (status == 400 || status == 401):
		return ErrInvalidToken
	case code == CodeInsufficientScope && (status == 401 || status == 403):
		return ErrInsufficientScope
	case code == CodeNotFound && status == 404:
		return ErrNotOurToken
	case code == CodeServerError && status == 502:
		return ErrUpstream
	case code == CodeServerError && status == 504:
		return ErrUpstreamTimeout
	case code == CodeServerError && status == 503:
		return ErrUpstreamUnavailable
	}
	return nil
}

// NewError builds the rejection of sentinel's row of the error table (one
// of the Err… sentinels), with description as its error_description, so
// that an app can answer a condition of its own with the table's shape:
//
//	core.WriteError(w, core.NewError(core.ErrInsufficientScope, "this route needs a postal code"))
//
// A nil or unknown sentinel gives a 500 server_error.
func NewError(sentinel error, description string) *Error {
	if !isSentinel(sentinel) {
		return &Error{Status: 500, Code: CodeServerError, Description: description, cause: sentinel}
	}
	if sentinel == ErrPreflight {
		e := errPreflight()
		e.Description = description
		return e
	}
	return newError(sentinel, description, nil)
}

func isSentinel(err error) bool {
	switch err {
	case ErrMissingToken, ErrMalformedToken, ErrInvalidToken, ErrInsufficientScope, ErrNotOurToken,
		ErrUpstream, ErrUpstreamTimeout, ErrUpstreamUnavailable, ErrOverloaded, ErrPreflight:
		return true
	}
	return false
}

// shape applies the Verifier's status table to a rejection: Amazon's, or
// RFC 6750's (WithRFC6750Statuses).
func (v *Verifier) shape(e *Error) *Error {
	if !v.cfg.rfc6750 || e == nil {
		return e
	}
	c := *e
	switch e.kind {
	case ErrMissingToken:
		c.Status, c.bare = 401, true
	case ErrInvalidToken:
		c.Status = 401
	case ErrNotOurToken:
		c.Status, c.Code, c.Description = 401, CodeInvalidToken, "the access token is expired, revoked, malformed or unknown"
	case ErrInsufficientScope:
		c.Status = 403
	default:
		return e
	}
	return &c
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

// AsError returns err as a *Error. A bare sentinel (ErrInsufficientScope,
// say) becomes its row's rejection with the row's usual description. Any
// other error (which the library never returns, but a custom handler might
// pass along) becomes a 500 server_error that wraps it, so that a response
// is always written and never lets the request through.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, s := range [...]error{ErrMissingToken, ErrMalformedToken, ErrInvalidToken, ErrInsufficientScope, ErrNotOurToken,
		ErrUpstream, ErrUpstreamTimeout, ErrUpstreamUnavailable, ErrOverloaded, ErrPreflight} {
		if errors.Is(err, s) {
			return NewError(s, sentinelDescription(s))
		}
	}
	return &Error{Status: 500, Code: CodeServerError, Description: "internal error", cause: err}
}

// sentinelDescription is a row's usual error_description.
func sentinelDescription(s error) string {
	switch s {
	case ErrMissingToken:
		return "the request carries no access token"
	case ErrMalformedToken:
		return "the access token is malformed"
	case ErrUpstream:
		return "Login with Amazon could not be reached"
	case ErrUpstreamTimeout:
		return "Login with Amazon did not answer in time"
	case ErrUpstreamUnavailable:
		return "Login with Amazon is failing; verification paused for a moment"
	case ErrOverloaded:
		return "too many verifications are waiting; try again shortly"
	case ErrPreflight:
		return "CORS preflight"
	}
	return descriptionOf(s)
}

// errRevoked answers a token this server revoked (Revoke, RevokeUser).
func errRevoked() *Error {
	return newError(ErrInvalidToken, "the access token is expired, revoked, malformed or unknown", nil)
}
