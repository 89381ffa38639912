package main

// The headers of a decision: the verified customer's identity on an
// accepted request (emitted to the proxy, which copies them upstream), and
// the rejection carried in X-Lwa-* headers for nginx (see decision.go).

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-lwa/lwa/core"
)

// HeaderPrefix starts the name of every header lwaauthz emits. The proxy
// configurations strip every client-supplied header with this prefix, so
// that no identity header reaching an upstream can come from the client.
const HeaderPrefix = "X-Lwa-"

// The headers of the nginx protocol: a rejection is answered 401 (the only
// status besides 2xx and 403 that auth_request passes on), carrying the
// real answer in these headers, which nginx re-emits (deploy/nginx).
const (
	headerStatus          = "X-Lwa-Status"           // the real status: 400, 401, 403, 404, 502, 503, 504 (500 for an internal failure)
	headerBody            = "X-Lwa-Body"             // the real JSON body, non-ASCII escaped as \uXXXX
	headerWWWAuthenticate = "X-Lwa-Www-Authenticate" // the real WWW-Authenticate, when there is one
	headerRetryAfter      = "X-Lwa-Retry-After"      // the real Retry-After, when there is one
)

// Fields lwaauthz can emit, the names -headers takes.
const (
	fieldUserID     = "user_id"
	fieldEmail      = "email"
	fieldName       = "name"
	fieldPostalCode = "postal_code"
	fieldClientID   = "client_id"
)

// defaultHeaderNames are the header names of the fields when -headers
// gives a field without a name.
var defaultHeaderNames = map[string]string{
	fieldUserID:     "X-Lwa-User-Id",
	fieldEmail:      "X-Lwa-Email",
	fieldName:       "X-Lwa-Name",
	fieldPostalCode: "X-Lwa-Postal-Code",
	fieldClientID:   "X-Lwa-Client-Id",
}

// identityHeader is one field of the verified token emitted as a header.
type identityHeader struct {
	field string // fieldUserID, ...
	name  string // canonical header name, HeaderPrefix…
}

// value returns the field's value for a verified token; "" when the
// customer did not grant the scope that carries it.
func (h identityHeader) value(p *core.Profile, info *core.TokenInfo) string {
	switch h.field {
	case fieldUserID:
		return p.UserID
	case fieldEmail:
		return p.Email
	case fieldName:
		return p.Name
	case fieldPostalCode:
		return p.PostalCode
	case fieldClientID:
		return info.ClientID
	}
	return ""
}

// parseHeaders parses -headers: a comma-separated list of fields, each
// optionally followed by =Header-Name ("user_id,email=X-Lwa-Mail").
func parseHeaders(spec string) ([]identityHeader, error) {
	var hs []identityHeader
	seenField := map[string]bool{}
	seenName := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		field, name, named := strings.Cut(item, "=")
		field = strings.TrimSpace(field)
		def, ok := defaultHeaderNames[field]
		if !ok {
			return nil, fmt.Errorf("-headers: unknown field %q (want user_id, email, name, postal_code or client_id)", field)
		}
		if !named {
			name = def
		}
		name = strings.TrimSpace(name)
		if err := checkHeaderName(name); err != nil {
			return nil, fmt.Errorf("-headers: %s: %w", field, err)
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
		if seenField[field] {
			return nil, fmt.Errorf("-headers: field %s given twice", field)
		}
		if seenName[name] {
			return nil, fmt.Errorf("-headers: header %s given twice", name)
		}
		seenField[field], seenName[name] = true, true
		hs = append(hs, identityHeader{field: field, name: name})
	}
	return hs, nil
}

// checkHeaderName accepts a header name that starts with HeaderPrefix, is
// an HTTP token of letters, digits and '-', and is not one of the nginx
// protocol's own headers.
func checkHeaderName(name string) error {
	if len(name) <= len(HeaderPrefix) || !strings.EqualFold(name[:len(HeaderPrefix)], HeaderPrefix) {
		return fmt.Errorf("header name %q must start with %s (the proxies strip client-supplied %s* headers)", name, HeaderPrefix, HeaderPrefix)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("header name %q: only letters, digits and '-'", name)
		}
	}
	switch textproto.CanonicalMIMEHeaderKey(name) {
	case headerStatus, headerBody, headerWWWAuthenticate, headerRetryAfter:
		return fmt.Errorf("header name %q is lwaauthz's own (nginx protocol)", name)
	}
	return nil
}

// headerValue makes s safe to send as a header value that every proxy and
// framework reads the same: s itself when it is printable ASCII without
// '%' (spaces inside allowed); otherwise its UTF-8 bytes percent-encoded
// (RFC 3986) wherever they are not, '%' and leading or trailing spaces
// included. Decode with decodeURIComponent, urllib.parse.unquote or
// url.PathUnescape (not a form decoder: '+' stays '+').
func headerValue(s string) string {
	if plainValue(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		edge := c == ' ' && (i == 0 || i == len(s)-1)
		if c < 0x20 || c >= 0x7f || c == '%' || edge {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// plainValue reports whether headerValue leaves s as it is.
func plainValue(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '%' {
			return false
		}
	}
	return true
}

// setNginxRejection writes e as the nginx protocol's answer to a rejected
// request: 401, with the real status, body, WWW-Authenticate and
// Retry-After in X-Lwa-* headers, and Cache-Control: no-store. It sends no
// WWW-Authenticate header of its own: nginx would copy it into the answer
// to the client whatever the real status is.
func setNginxRejection(w http.ResponseWriter, e *core.Error) {
	h := w.Header()
	// The middleware set the rejection's own WWW-Authenticate and
	// Retry-After before this handler ran: they travel in X-Lwa-* instead.
	h.Del("WWW-Authenticate")
	h.Del("Retry-After")
	h.Set(headerStatus, strconv.Itoa(rejectionStatus(e)))
	h.Set(headerBody, asciiJSON(rejectionBody(e)))
	setAuthHeaders(e, func(k, v string) {
		if strings.EqualFold(k, "Cache-Control") {
			h.Set(k, v)
			return
		}
		h.Set(HeaderPrefix+k, v) // WWW-Authenticate, Retry-After
	})
	w.WriteHeader(http.StatusUnauthorized)
}

// asciiJSON returns the JSON document b with every non-ASCII character
// escaped as \uXXXX (a surrogate pair beyond the Basic Multilingual
// Plane), so that it travels as a header value unchanged. b comes from
// encoding/json, which already escapes control characters and replaces
// invalid UTF-8.
func asciiJSON(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	const hex = "0123456789abcdef"
	var s strings.Builder
	s.Grow(len(b) + 32)
	u := func(r rune) {
		s.WriteString(`\u`)
		s.WriteByte(hex[r>>12&0xf])
		s.WriteByte(hex[r>>8&0xf])
		s.WriteByte(hex[r>>4&0xf])
		s.WriteByte(hex[r&0xf])
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r < 0x80:
			s.WriteByte(b[0])
		case r > 0xffff:
			r -= 0x10000
			u(0xd800 + r>>10)
			u(0xdc00 + r&0x3ff)
		default:
			u(r) // utf8.RuneError for an invalid byte: \ufffd
		}
		b = b[n:]
	}
	return s.String()
}
