package core

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// redacted is what formatting prints in place of a token.
const redacted = "REDACTED"

type sourceCount struct {
	name string
	n    int
}

func (r *Request) counts() []sourceCount {
	return []sourceCount{
		{"Authorization", len(r.Authorization)}, {"AmzAccessToken", len(r.AmzAccessToken)},
		{"Query", len(r.Query)}, {"Header", len(r.Header)}, {"Cookie", len(r.Cookie)},
	}
}

func redactedValues(n int) string {
	if n == 0 {
		return "[]"
	}
	return "[" + strconv.Itoa(n) + " " + redacted + "]"
}

// String describes r without its tokens: its method and how many values
// each source holds.
func (r Request) String() string {
	var b strings.Builder
	b.WriteString("core.Request{Method: ")
	b.WriteString(strconv.Quote(r.Method))
	b.WriteString(", AccessControlRequestMethod: ")
	b.WriteString(strconv.Quote(r.AccessControlRequestMethod))
	for _, f := range r.counts() {
		b.WriteString(", ")
		b.WriteString(f.name)
		b.WriteString(": ")
		b.WriteString(redactedValues(f.n))
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String: %#v never prints a token either.
func (r Request) GoString() string { return r.String() }

// Format prints String for every verb, so that no verb (%x included) can
// print a token.
func (r Request) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// LogValue logs the method and the number of values of each token source,
// never a token.
func (r Request) LogValue() slog.Value {
	cs := r.counts()
	attrs := make([]slog.Attr, 0, len(cs)+2)
	attrs = append(attrs, slog.String("method", r.Method),
		slog.String("access_control_request_method", r.AccessControlRequestMethod))
	for _, c := range cs {
		attrs = append(attrs, slog.String(c.name, redactedValues(c.n)))
	}
	return slog.GroupValue(attrs...)
}
