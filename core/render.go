package core

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// contentTypeJSON is the Content-Type of every rejection body.
const contentTypeJSON = "application/json"

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
// WWW-Authenticate header, or "" when the status carries none (only 400,
// 401 and a 403 insufficient_scope do). In RFC 6750 mode a request without a token gets a bare
// "Bearer" challenge. Its values are HTTP quoted-strings, escaped as RFC 9110 requires:
//
//	Bearer error="invalid_token", error_description="..."
func (e *Error) WWWAuthenticate() string {
	if e.Status != http.StatusBadRequest && e.Status != http.StatusUnauthorized &&
		(e.Status != http.StatusForbidden || e.Code != CodeInsufficientScope) {
		return ""
	}
	if e.bare {
		return "Bearer" // RFC 6750 3.1: no error code for a request without credentials
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

// SetHeaders calls set with the response headers of the rejection other
// than Content-Type: Cache-Control no-store, WWW-Authenticate on 400 and
// 401 (and RFC 6750's 403), and Retry-After when RetryAfter is set. The
// adapter kit for frameworks without net/http: set them before a custom
// error handler runs (it may override them), and write Body with
// Content-Type application/json when it does not.
func (e *Error) SetHeaders(set func(key, value string)) {
	set("Cache-Control", "no-store")
	if c := e.WWWAuthenticate(); c != "" {
		set("WWW-Authenticate", c)
	}
	if e.RetryAfter > 0 {
		set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
}

// WriteError writes err as a rejection to w: Content-Type
// application/json, the headers of SetHeaders, the status (StatusCode) and
// the JSON body (Body). The answer to a CORS preflight (ErrPreflight) is a
// bare 204. An error that is not a *Error is written as a 500 server_error
// (see AsError). Every adapter answers with these same parts; a custom
// error handler may call it too.
func WriteError(w http.ResponseWriter, err error) {
	e := AsError(err)
	if e == nil {
		return
	}
	if e.kind == ErrPreflight {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	e.SetHeaders(h.Set)
	w.WriteHeader(e.StatusCode()) // a rejection is never a success
	_, _ = w.Write(e.Body())
}
