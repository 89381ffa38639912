package kit

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/go-lwa/lwa/core"
)

// ErrHijackRefused is what a custom error handler gets when it tries to
// hijack the connection of a rejected request: it could then answer
// anything, a success included.
var ErrHijackRefused = errors.New("lwa: a rejected request's connection cannot be hijacked")

// Guard is the http.ResponseWriter a custom error handler writes through:
// it never lets a rejection become a success. A 1xx or 2xx status the
// handler writes (or the implicit 200 of a Write or a Flush without
// WriteHeader) becomes the rejection's status; 3xx and error statuses are
// the handler's choice. Hijacking is refused. http.ResponseController finds
// Flush and Hijack here before it unwraps.
type Guard struct {
	http.ResponseWriter
	status  int
	written bool
}

// NewGuard wraps w for a custom error handler answering e, after setting
// e's headers other than Content-Type (Cache-Control: no-store,
// WWW-Authenticate, Retry-After), which the handler may override.
func NewGuard(w http.ResponseWriter, e *core.Error) *Guard {
	e.SetHeaders(w.Header().Set)
	return &Guard{ResponseWriter: w, status: e.StatusCode()}
}

// WriteHeader writes code, or the rejection's status in place of a 1xx or
// 2xx code.
func (g *Guard) WriteHeader(code int) {
	if g.written {
		return
	}
	g.written = true
	if code < http.StatusMultipleChoices {
		code = g.status
	}
	g.ResponseWriter.WriteHeader(code)
}

// Write writes b, after the rejection's status if no status was written.
func (g *Guard) Write(b []byte) (int, error) {
	if !g.written {
		g.WriteHeader(g.status)
	}
	return g.ResponseWriter.Write(b)
}

// Flush sends what was written, after the rejection's status if no status
// was written.
func (g *Guard) Flush() { _ = g.FlushError() }

// FlushError is Flush for http.ResponseController.
func (g *Guard) FlushError() error {
	if !g.written {
		g.WriteHeader(g.status)
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Hijack refuses: see ErrHijackRefused.
func (g *Guard) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, ErrHijackRefused
}

// Written reports whether anything was written.
func (g *Guard) Written() bool { return g.written }

// Unwrap returns the wrapped writer, for http.ResponseController's deadline
// and full-duplex controls.
func (g *Guard) Unwrap() http.ResponseWriter { return g.ResponseWriter }
