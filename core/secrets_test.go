package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

// captureHandler keeps every record, at every level, with all its
// attributes rendered raw (no escaping that could hide a token).
type captureHandler struct {
	mu    *sync.Mutex
	buf   *strings.Builder
	n     *int
	attrs []slog.Attr
	group string
}

func newCaptureLogger() (*slog.Logger, func() (string, int)) {
	h := &captureHandler{mu: new(sync.Mutex), buf: new(strings.Builder), n: new(int)}
	return slog.New(h), func() (string, int) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.buf.String(), *h.n
	}
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.n++
	fmt.Fprintf(h.buf, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		writeAttr(h.buf, h.group, a)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(h.buf, h.group, a)
		return true
	})
	h.buf.WriteByte('\n')
	return nil
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	fmt.Fprintf(b, " %s%s=%s", prefix, a.Key, a.Value.String())
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = h.group + name + "."
	return &c
}

// TestSecretsNeverLeak runs every row of the error table, through Verify and
// through Authenticate, with a logger that captures everything at Debug
// level, and looks for the token, and for every 8-byte piece of it, in the
// log records and in everything the error exposes.
func TestSecretsNeverLeak(t *testing.T) {
	for _, row := range errorTable() {
		vias := []string{"Verify", "Authenticate"}
		if row.requestOnly {
			vias = vias[1:]
		}
		for _, via := range vias {
			t.Run(row.name+"/"+via, func(t *testing.T) {
				logger, logs := newCaptureLogger()
				err, _, in := runRow(t, row, via, logger)
				require.Error(t, err)
				e := core.AsError(err)
				secrets := in.secrets
				for _, s := range in.secrets {
					secrets = append(secrets, url.QueryEscape(s))
				}
				text, records := logs()
				for what, s := range map[string]string{
					"log records":      text,
					"Error()":          err.Error(),
					"Description":      e.Description,
					"RequestID":        e.RequestID,
					"body":             string(e.Body()),
					"WWW-Authenticate": e.WWWAuthenticate(),
					"%+v":              fmt.Sprintf("%+v", err),
				} {
					if sub, ok := leaks(s, secrets...); ok {
						t.Errorf("%s leak %q: %q", what, sub, s)
					}
				}
				if via == "Authenticate" {
					assert.Positive(t, records, "Authenticate logs its rejections at Debug")
					assert.Contains(t, text, e.Code, "the rejection was logged")
				}
				if row.sentinel == core.ErrUpstream || row.sentinel == core.ErrUpstreamTimeout {
					assert.Contains(t, text, "WARN", "upstream failures are logged at Warn")
				}
			})
		}
	}
}

// TestSecretsUnreachableEndpoint: the network error of a failed call names
// the URL (which holds the token in its query); it must not reach the log
// or the error.
func TestSecretsUnreachableEndpoint(t *testing.T) {
	logger, logs := newCaptureLogger()
	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(closedURL(t)), core.WithLogger(logger))
	require.NoError(t, err)
	defer v.Close()

	for _, tok := range []string{randomToken("Atza|"), "Atza|" + strings.Repeat("a+b/c=d&e|f", 20)} {
		_, err := v.Verify(context.Background(), tok)
		requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
		_, _, aerr := authenticate(v, context.Background(), amzRequest(tok), core.Policy{})
		requireRejection(t, aerr, 502, core.CodeServerError, core.ErrUpstream)
		text, records := logs()
		require.Positive(t, records)
		secrets := []string{tok, url.QueryEscape(tok), url.PathEscape(tok)}
		for what, s := range map[string]string{"log": text, "Verify error": err.Error(), "Authenticate error": aerr.Error()} {
			if sub, ok := leaks(s, secrets...); ok {
				t.Errorf("%s leaks %q: %q", what, sub, s)
			}
		}
		assert.Contains(t, err.Error(), "refused", "the network cause is still reported")
	}
}
