package core

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// redacted is what formatting prints in place of a token.
const redacted = "REDACTED"

// String describes s without its tokens: how many values each source holds.
func (s TokenSources) String() string {
	var b strings.Builder
	b.WriteString("core.TokenSources{")
	for i, f := range s.counts() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name)
		b.WriteString(": ")
		b.WriteString(redactedValues(f.n))
	}
	b.WriteByte('}')
	return b.String()
}

type sourceCount struct {
	name string
	n    int
}

func (s TokenSources) counts() []sourceCount {
	return []sourceCount{
		{"Authorization", len(s.Authorization)}, {"AmzAccessToken", len(s.AmzAccessToken)},
		{"Query", len(s.Query)}, {"Header", len(s.Header)}, {"Cookie", len(s.Cookie)},
	}
}

func redactedValues(n int) string {
	if n == 0 {
		return "[]"
	}
	return "[" + strconv.Itoa(n) + " " + redacted + "]"
}

// GoString is String: %#v never prints a token either.
func (s TokenSources) GoString() string { return s.String() }

// Format prints String for every verb, so that no verb (%x included) can
// print a token.
func (s TokenSources) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue logs the number of values of each source, never a token.
func (s TokenSources) LogValue() slog.Value {
	cs := s.counts()
	attrs := make([]slog.Attr, len(cs))
	for i, c := range cs {
		attrs[i] = slog.String(c.name, redactedValues(c.n))
	}
	return slog.GroupValue(attrs...)
}

// String describes r without its tokens.
func (r Request) String() string {
	return "core.Request{Method: " + strconv.Quote(r.Method) +
		", AccessControlRequestMethod: " + strconv.Quote(r.AccessControlRequestMethod) +
		", TokenSources: " + r.TokenSources.String() + "}"
}

// GoString is String.
func (r Request) GoString() string { return r.String() }

// Format prints String for every verb.
func (r Request) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// LogValue logs the method and the number of values of each token source.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("method", r.Method),
		slog.String("access_control_request_method", r.AccessControlRequestMethod),
		slog.Any("token_sources", r.TokenSources.LogValue()))
}
