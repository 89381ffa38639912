package core

import (
	"encoding/json"
	"net/http"
	"strings"
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
// Content-Type application/json, Cache-Control no-store, and
// WWW-Authenticate on 400 and 401. Adapters pass their framework's header
// setter, so every adapter answers with the same headers.
func (e *Error) SetHeaders(set func(key, value string)) {
	set("Content-Type", ContentTypeJSON)
	set("Cache-Control", "no-store")
	if c := e.WWWAuthenticate(); c != "" {
		set("WWW-Authenticate", c)
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
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError // a rejection is never a success
	}
	w.WriteHeader(status)
	_, _ = w.Write(e.Body())
}
