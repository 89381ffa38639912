package core

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ContentTypeJSON is the Content-Type of every rejection body.
const ContentTypeJSON = "application/json"

// errorBody is the JSON shape of a rejection, LWA's documented one.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	RequestID   string `json:"request_id,omitempty"`
}

// MarshalJSON renders e as the documented body:
// {"error": CODE, "error_description": TEXT} plus "request_id" when Amazon
// sent one. It lets a framework that serialises error values (Echo's
// HTTPErrorHandler, for one) write the same body as every adapter.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(errorBody{Error: e.Code, Description: e.Description, RequestID: e.RequestID})
}

// Body returns the JSON body to write for e (see MarshalJSON).
func (e *Error) Body() []byte {
	b, _ := e.MarshalJSON() // marshalling three strings cannot fail
	return b
}

// WWWAuthenticate returns the RFC 6750 challenge to send in the
// WWW-Authenticate header, or "" when the status carries none (only 400 and
// 401 do). Its values are HTTP quoted-strings, escaped as RFC 9110 requires:
//
//	Bearer error="invalid_token", error_description="..."
func (e *Error) WWWAuthenticate() string {
	if e.Status != http.StatusBadRequest && e.Status != http.StatusUnauthorized {
		return ""
	}
	var b strings.Builder
	b.Grow(len(e.Code) + len(e.Description) + 40)
	b.WriteString(`Bearer error=`)
	writeQuoted(&b, e.Code)
	if e.Description != "" {
		b.WriteString(`, error_description=`)
		writeQuoted(&b, e.Description)
	}
	return b.String()
}

// writeQuoted writes s as an HTTP quoted-string (RFC 9110, section 5.6.4):
// '"' and '\' are backslash-escaped; bytes a header value cannot carry
// (controls, DEL, and non-ASCII, which some proxies mangle) become '?'.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			b.WriteByte(c)
		default:
			b.WriteByte('?')
		}
	}
	b.WriteByte('"')
}

// SetHeaders calls set with each response header of the rejection:
// Content-Type application/json, Cache-Control no-store, WWW-Authenticate on
// 400 and 401, and Retry-After when RetryAfter is set. Adapters pass their framework's header
// setter, so every adapter answers with the same headers.
func (e *Error) SetHeaders(set func(key, value string)) {
	set("Content-Type", ContentTypeJSON)
	e.SetAuthHeaders(set)
}

// SetAuthHeaders calls set with the response headers of the rejection that
// do not describe its body: Cache-Control no-store, WWW-Authenticate on 400
// and 401, and Retry-After when RetryAfter is set. An adapter that lets the
// app render the body (Echo's HTTPErrorHandler) adds only these.
func (e *Error) SetAuthHeaders(set func(key, value string)) {
	set("Cache-Control", "no-store")
	if c := e.WWWAuthenticate(); c != "" {
		set("WWW-Authenticate", c)
	}
	if e.RetryAfter > 0 {
		set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
}

// WriteError writes err as a rejection to w: the headers of SetHeaders, the
// status (500 if a hand-made *Error carries one outside 400–599) and the JSON
// body. The answer to a CORS preflight (ErrPreflight) is a bare 204. An error that is not a *Error is written as a 500
// server_error (see AsError). The stdlwa and ginlwa adapters answer through
// it; echolwa and fiberlwa write the same parts through their frameworks.
func WriteError(w http.ResponseWriter, err error) {
	e := AsError(err)
	if e == nil {
		return
	}
	if e.kind == ErrPreflight {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	e.SetHeaders(w.Header().Set)
	w.WriteHeader(RejectionStatus(e)) // a rejection is never a success
	_, _ = w.Write(e.Body())
}

// RejectionWriter is the http.ResponseWriter a custom error handler writes
// through (see GuardRejection): it never lets a rejection become a success.
type RejectionWriter struct {
	http.ResponseWriter
	status  int
	written bool
}

// GuardRejection wraps w for a custom error handler answering e: a 1xx or
// 2xx status it writes (or the implicit 200 of a Write without WriteHeader)
// becomes e's status, so that a careless handler cannot turn a rejection
// into a success. Written reports whether the handler wrote anything; if
// not, the adapter writes the default error.
func GuardRejection(w http.ResponseWriter, e *Error) *RejectionWriter {
	return &RejectionWriter{ResponseWriter: w, status: RejectionStatus(e)}
}

// RejectionStatus is the status to answer e with: its own, or 500 when a
// hand-made *Error carries one outside 400–599.
func RejectionStatus(e *Error) int {
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// WriteHeader writes code, or the rejection's status in place of a 1xx or
// 2xx code.
func (w *RejectionWriter) WriteHeader(code int) {
	if w.written {
		return
	}
	w.written = true
	if code < 300 {
		code = w.status
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes b, after the rejection's status if no status was written.
func (w *RejectionWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(w.status)
	}
	return w.ResponseWriter.Write(b)
}

// Written reports whether anything was written.
func (w *RejectionWriter) Written() bool { return w.written }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *RejectionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
