package core_test

// The fault matrix: every way the upstream can misbehave, through lwatest or
// through a raw TCP listener that writes hand-made HTTP answers. Each fault,
// on either endpoint, must be answered with 502 (504 when time ran out)
// within the verification timeout, must not be cached, and must leave the
// token out of every log record. Helpers here are prefixed flt.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

const (
	fltClientID = "amzn1.application-oa2-client.faults"
	fltTimeout  = 300 * time.Millisecond
	// fltSlack bounds how late past the timeout an answer may come: an
	// upper-bound sanity check, not a speed assertion.
	fltSlack   = 3 * time.Second
	fltRawUser = "amzn1.account.RAWFAULTUSER"
)

// fltLogs captures every log record at Debug level, rendered as text.
type fltLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *fltLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *fltLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *fltLogs) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fltNoToken fails when s carries token or any 8-byte piece of it.
func fltNoToken(t *testing.T, what, s, token string) {
	t.Helper()
	for i := 0; i+8 <= len(token); i++ {
		if strings.Contains(s, token[i:i+8]) {
			t.Fatalf("%s carries a piece of the token (%q): %q", what, token[i:i+8], s)
		}
	}
}

// fltRaw is a loopback HTTP/1.1 server written by hand: each connection
// carries one request, answered normally (a tokeninfo answer for
// fltClientID and a matching profile, whatever the token) or by the fault
// set for its path.
type fltRaw struct {
	t    *testing.T
	addr string

	mu      sync.Mutex
	ln      net.Listener
	faults  map[string]fltFault // by path
	calls   map[string]int      // by path
	conns   map[net.Conn]struct{}
	closing bool

	written atomic.Int64  // body bytes written by the big-body faults
	bigDone chan struct{} // a big-body fault has returned
	wg      sync.WaitGroup
	done    chan struct{}
}

// fltFault answers (or refuses to answer) one request on c.
type fltFault func(s *fltRaw, c net.Conn)

func newFltRaw(t *testing.T) *fltRaw {
	s := &fltRaw{t: t, faults: map[string]fltFault{}, calls: map[string]int{}, conns: map[net.Conn]struct{}{}, done: make(chan struct{}), bigDone: make(chan struct{}, 4)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.start(ln)
	t.Cleanup(s.close)
	return s
}

func (s *fltRaw) url() string { return "http://" + s.addr }

func (s *fltRaw) start(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			if s.closing {
				s.mu.Unlock()
				c.Close()
				return
			}
			s.conns[c] = struct{}{}
			s.wg.Add(1)
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
}

// stop closes the listener: new connections are refused.
func (s *fltRaw) stop() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// restart listens again on the same address.
func (s *fltRaw) restart() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listening again on %s: %v", s.addr, err)
	}
	s.start(ln)
}

func (s *fltRaw) close() {
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.stop()
	close(s.done)
	s.wg.Wait()
}

func (s *fltRaw) setFault(path string, f fltFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = f
}

func (s *fltRaw) recover() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

func (s *fltRaw) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

func (s *fltRaw) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.calls[req.URL.Path]++
	f := s.faults[req.URL.Path]
	s.mu.Unlock()
	if f != nil {
		f(s, c)
		return
	}
	switch req.URL.Path {
	case "/auth/o2/tokeninfo":
		fltWriteJSON(c, 200, `{"iss":"https://www.amazon.com","user_id":"`+fltRawUser+`","aud":"`+fltClientID+`","app_id":"amzn1.application.raw","exp":3600,"iat":1446510240}`)
	case "/user/profile":
		fltWriteJSON(c, 200, `{"user_id":"`+fltRawUser+`","name":"Raw"}`)
	default:
		fltWriteJSON(c, 404, `{"error":"not_found"}`)
	}
}

func fltWriteJSON(c net.Conn, status int, body string) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// fltReset writes the headers and part of the body, then resets the
// connection.
func fltReset(_ *fltRaw, c net.Conn) {
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"user_id\":\"amzn1.acc")
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// fltDrip sends a 200-byte body one byte every 50 ms.
func fltDrip(s *fltRaw, c net.Conn) {
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 200 {
		select {
		case <-tick.C:
		case <-s.done:
			return
		}
		if _, err := c.Write([]byte{' '}); err != nil {
			return
		}
	}
}

// fltHang reads until the client goes away, never answering.
func fltHang(_ *fltRaw, c net.Conn) {
	io.Copy(io.Discard, c)
}

const fltBigBody = 64 << 20

// fltBig claims and streams a 64 MiB JSON-ish body, counting what it
// manages to write before the client closes the connection.
func fltBig(chunked bool) fltFault {
	return func(s *fltRaw, c net.Conn) {
		defer func() { s.bigDone <- struct{}{} }()
		if chunked {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
		} else {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", fltBigBody)
		}
		chunk := bytes.Repeat([]byte("a"), 32<<10)
		copy(chunk, `{"pad":"`)
		frame := chunk
		if chunked {
			frame = append([]byte(fmt.Sprintf("%x\r\n", len(chunk))), chunk...)
			frame = append(frame, "\r\n"...)
		}
		for sent := 0; sent < fltBigBody; sent += len(chunk) {
			if _, err := c.Write(frame); err != nil {
				return
			}
			s.written.Add(int64(len(chunk)))
		}
	}
}

// fltCase is one fault of the matrix.
type fltCase struct {
	name   string
	status int // 502 or 504
	kind   error
	// raw faults run on the raw listener, lwatest faults on lwatest.
	raw     fltFault
	lwa     *lwatest.Failure
	refused bool // the whole upstream host is down
	big     bool // check that the body was not read whole
}

func fltCases() []fltCase {
	html := `<!doctype html><html><head><title>Amazon.com</title></head><body><form action="/errors/validateCaptcha">Enter the characters you see below</form></body></html>`
	tiOK := `{"iss":"https://www.amazon.com","user_id":"amzn1.account.X","aud":"` + fltClientID + `","app_id":"amzn1.application.x","exp":3600,"iat":1446510240}`
	return []fltCase{
		{name: "connection refused", status: 502, kind: core.ErrUpstream, refused: true},
		{name: "reset mid-body", status: 502, kind: core.ErrUpstream, raw: fltReset},
		{name: "slow drip past the timeout", status: 504, kind: core.ErrUpstreamTimeout, raw: fltDrip},
		{name: "hang past the timeout (raw)", status: 504, kind: core.ErrUpstreamTimeout, raw: fltHang},
		{name: "hang past the timeout (lwatest)", status: 504, kind: core.ErrUpstreamTimeout, lwa: &lwatest.Failure{Hang: true}},
		{name: "64 MiB body, Content-Length", status: 502, kind: core.ErrUpstream, raw: fltBig(false), big: true},
		{name: "64 MiB body, chunked", status: 502, kind: core.ErrUpstream, raw: fltBig(true), big: true},
		{name: "invalid UTF-8", status: 502, kind: core.ErrUpstream, lwa: &lwatest.Failure{Body: "{\"iss\":\"https://www.amazon.com\",\"user_id\":\"amzn1.account.\xff\xfe\",\"aud\":\"" + fltClientID + "\",\"exp\":3600}"}},
		{name: "text/plain JSON", status: 502, kind: core.ErrUpstream, lwa: &lwatest.Failure{Body: tiOK, ContentType: "text/plain; charset=utf-8"}},
		{name: "HTML page with 200", status: 502, kind: core.ErrUpstream, lwa: &lwatest.Failure{Body: html, ContentType: "text/html; charset=UTF-8"}},
		{name: "HTML captcha page with 503", status: 502, kind: core.ErrUpstream, lwa: &lwatest.Failure{Status: 503, Body: html, ContentType: "text/html; charset=UTF-8"}},
		{name: "429 with Retry-After", status: 502, kind: core.ErrUpstream, lwa: &lwatest.Failure{Status: 429, Header: http.Header{"Retry-After": {"30"}}}},
		{name: "503", status: 502, kind: core.ErrUpstream, lwa: &lwatest.Failure{Status: 503}},
	}
}

// TestFaultMatrix runs every fault on tokeninfo and on profile (the other
// endpoint answering normally).
func TestFaultMatrix(t *testing.T) {
	for _, tc := range fltCases() {
		for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
			if tc.refused && ep == lwatest.EndpointProfile {
				continue // one host serves both endpoints
			}
			name := ep.String() + "/" + tc.name
			if tc.refused {
				name = "both/" + tc.name
			}
			t.Run(name, func(t *testing.T) {
				if tc.lwa != nil {
					fltRunLWA(t, tc, ep)
				} else {
					fltRunRaw(t, tc, ep)
				}
			})
		}
	}
}

// fltVerifier builds the verifier under test.
func fltVerifier(t *testing.T, endpoint string, logs *fltLogs) *core.Verifier {
	t.Helper()
	v, err := core.NewVerifier(
		core.WithClientID(fltClientID),
		core.WithEndpoint(endpoint),
		core.WithTimeout(fltTimeout),
		core.WithLogger(logs.logger()),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// fltCheckFault verifies token once under the fault and checks the answer.
func fltCheckFault(t *testing.T, v *core.Verifier, tc fltCase, token string) {
	t.Helper()
	start := time.Now()
	p, err := v.Verify(context.Background(), token)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatalf("verified %+v through the fault", p)
	}
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *core.Error", err, err)
	}
	t.Logf("answered %d %s (%v) in %v: %v", e.Status, e.Code, tc.kind, elapsed.Round(time.Millisecond), err)
	if e.Status != tc.status || e.Code != core.CodeServerError || !errors.Is(err, tc.kind) {
		t.Fatalf("got %d %q (%v), want %d %q (%v)", e.Status, e.Code, err, tc.status, core.CodeServerError, tc.kind)
	}
	if elapsed > fltTimeout+fltSlack {
		t.Fatalf("answered after %v, timeout %v", elapsed, fltTimeout)
	}
	fltNoToken(t, "the error", err.Error(), token)
	fltNoToken(t, "the error body", string(e.Body())+e.WWWAuthenticate(), token)
}

func fltRunLWA(t *testing.T, tc fltCase, ep lwatest.Endpoint) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	logs := &fltLogs{}
	v := fltVerifier(t, srv.URL, logs)
	want := core.Profile{UserID: "amzn1.account.FAULTS", Email: "f@example.com", Name: "F"}
	token := srv.Issue(fltClientID, want, lwatest.WithScopes("profile"))

	srv.Fail(ep, *tc.lwa)
	fltCheckFault(t, v, tc, token)

	// Not cached: once the upstream recovers, the same token asks again and
	// passes. (The profile call of the failed verification, cancelled when
	// tokeninfo failed first, may reach the server after the counts are
	// read: the profile count may grow by two.)
	srv.Recover()
	ti, pr := srv.CallCount(lwatest.EndpointTokenInfo), srv.CallCount(lwatest.EndpointProfile)
	p, err := v.Verify(context.Background(), token)
	if err != nil || p != want {
		t.Fatalf("after recovery: %+v, %v; want %+v", p, err, want)
	}
	if ti2, pr2 := srv.CallCount(lwatest.EndpointTokenInfo), srv.CallCount(lwatest.EndpointProfile); ti2 != ti+1 || pr2 < pr+1 {
		t.Fatalf("after recovery: %d tokeninfo and %d profile calls, want 1 and 1", ti2-ti, pr2-pr)
	}
	fltNoToken(t, "the logs", logs.String(), token)
}

func fltRunRaw(t *testing.T, tc fltCase, ep lwatest.Endpoint) {
	s := newFltRaw(t)
	logs := &fltLogs{}
	v := fltVerifier(t, s.url(), logs)
	token := "Atza|IwEBIRawFault-" + strings.Repeat("x7_-", 90)

	var before runtime.MemStats
	if tc.big {
		runtime.GC()
		runtime.ReadMemStats(&before)
	}
	switch {
	case tc.refused:
		s.stop()
	default:
		s.setFault(ep.Path(), tc.raw)
	}
	fltCheckFault(t, v, tc, token)
	if tc.big {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		// The listener may fill the socket buffers before it notices the
		// client is gone; what matters is that it could not send it all.
		select {
		case <-s.bigDone:
		case <-time.After(10 * time.Second):
			t.Fatalf("the listener is still streaming the body (%d bytes written)", s.written.Load())
		}
		written := s.written.Load()
		t.Logf("the listener wrote %d KiB of the %d MiB body; the verification allocated %d KiB", written>>10, fltBigBody>>20, alloc>>10)
		if written >= fltBigBody/2 {
			t.Fatalf("the listener wrote %d bytes of %d: the body was read whole", written, fltBigBody)
		}
		if alloc >= 8<<20 {
			t.Fatalf("the verification allocated %d bytes: the body was buffered", alloc)
		}
	}

	if tc.refused {
		s.restart()
	}
	s.recover()
	ti, pr := s.count("/auth/o2/tokeninfo"), s.count("/user/profile")
	p, err := v.Verify(context.Background(), token)
	if err != nil || p.UserID != fltRawUser {
		t.Fatalf("after recovery: %+v, %v", p, err)
	}
	if ti2, pr2 := s.count("/auth/o2/tokeninfo"), s.count("/user/profile"); ti2 != ti+1 || pr2 < pr+1 {
		t.Fatalf("after recovery: %d tokeninfo and %d profile calls, want 1 and 1", ti2-ti, pr2-pr)
	}
	fltNoToken(t, "the logs", logs.String(), token)
}
