package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// safeBuffer is the demo's output in tests: the server writes its request
// log while the test reads.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a demo started through serve, as a newcomer would start it.
type started struct {
	running
	base   string // http://addr
	out    *safeBuffer
	client *http.Client
}

// startDemo runs the demo offline with args (and -addr 127.0.0.1:0) until
// the test ends.
func startDemo(t *testing.T, args ...string) *started {
	t.Helper()
	t.Setenv("LWA_CLIENT_ID", "")
	t.Setenv("LWA_ENDPOINT", "")
	ctx, cancel := context.WithCancel(context.Background())
	out := &safeBuffer{}
	ready := make(chan running, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), out, func(r running) { ready <- r })
	}()
	d := &started{out: out}
	select {
	case d.running = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("demo stopped early: %v\n%s", err, out)
	}
	d.base = "http://" + d.addr
	tr := &http.Transport{}
	d.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		require.NoError(t, <-done)
	})
	return d
}

// get sends one request to the demo and returns its status, headers and
// body.
func (d *started) do(t *testing.T, method, path string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, d.base+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := d.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

func (d *started) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	var h http.Header
	if token != "" {
		h = http.Header{"Authorization": {"Bearer " + token}}
	}
	status, _, body := d.do(t, http.MethodGet, path, h)
	return status, body
}

// logLine is one line of the request log.
type logLine struct {
	raw, method, path, how string
	status                 int
}

var logPattern = regexp.MustCompile(`^time=\S+ level=INFO msg=request method=(\S+) path=(\S+) status=(\d+) how=(?:"([^"]*)"|(\S+)) duration=\S+$`)

// logLines returns the request log so far.
func (d *started) logLines(t *testing.T) []logLine {
	t.Helper()
	var lines []logLine
	for _, l := range strings.Split(d.out.String(), "\n") {
		if !strings.Contains(l, "msg=request") {
			continue
		}
		m := logPattern.FindStringSubmatch(l)
		require.NotNil(t, m, "a request log line: %q", l)
		status, _ := strconv.Atoi(m[3])
		lines = append(lines, logLine{raw: l, method: m[1], path: m[2], status: status, how: m[4] + m[5]})
	}
	return lines
}

// waitLog waits until the request log has n lines, and returns them. A
// line is written when its handler returns, which may be just after the
// client has read the answer.
func (d *started) waitLog(t *testing.T, n int) []logLine {
	t.Helper()
	var lines []logLine
	require.Eventually(t, func() bool {
		lines = d.logLines(t)
		return len(lines) >= n
	}, 5*time.Second, 5*time.Millisecond, "%d request log lines:\n%s", n, d.out)
	require.Len(t, lines, n, "one line per request:\n%s", d.out)
	return lines
}

// lastLog waits for the n-th log line and returns it.
func (d *started) lastLog(t *testing.T, n int) logLine {
	t.Helper()
	return d.waitLog(t, n)[n-1]
}

// shellWords splits a printed command as a POSIX shell would, for the
// subset the demo prints: words separated by spaces, 'single-quoted' words.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, c := range line {
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			w.WriteRune(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	require.False(t, quoted, "unbalanced quote in %q", line)
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// curlRequest turns a printed curl command into the request it sends.
func curlRequest(t *testing.T, line string) *http.Request {
	t.Helper()
	words := shellWords(t, line)
	require.Equal(t, "curl", words[0])
	method, header, target := http.MethodGet, http.Header{}, ""
	for i := 1; i < len(words); i++ {
		switch words[i] {
		case "-i", "-s":
		case "-X":
			i++
			method = words[i]
		case "-H":
			i++
			k, v, ok := strings.Cut(words[i], ": ")
			require.True(t, ok, "a header: %q", words[i])
			header.Add(k, v)
		default:
			require.False(t, strings.HasPrefix(words[i], "-"), "an option the test does not know: %q", line)
			require.Empty(t, target, "one URL: %q", line)
			target = words[i]
		}
	}
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	req.Header = header
	return req
}

var (
	// expectation matches the comment printed above each command: the
	// status it answers, and what the request log says about it.
	expectation = regexp.MustCompile(`^# .*: (\d{3})\b.*, log "([^"]+)"$`)
	tokenRe     = regexp.MustCompile(`Atza\|[A-Za-z0-9_-]+`)
)

// TestOfflineDemoCommands runs the demo as a newcomer would and runs every
// curl line it prints, in order, checking the status its comment promises
// and the request log line it says the request gets. No log line carries
// a token.
func TestOfflineDemoCommands(t *testing.T) {
	d := startDemo(t)
	printed := d.out.String()
	assert.Contains(t, printed, "lwademo: net/http (http.ServeMux) + github.com/go-lwa/lwa/stdlwa\n", "says which framework it runs")
	assert.Contains(t, printed, "shared cache: none")

	want, wantHow := -1, ""
	ran := 0
	for _, line := range strings.Split(printed, "\n") {
		if strings.HasPrefix(line, "# ") {
			m := expectation.FindStringSubmatch(line)
			require.NotNil(t, m, "a comment with a status and a log: %q", line)
			want, _ = strconv.Atoi(m[1])
			wantHow = m[2]
			continue
		}
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		require.NotEqual(t, -1, want, "curl line without an expectation: %q", line)
		req := curlRequest(t, line)
		require.Equal(t, d.addr, req.URL.Host, "curl targets the demo's address")
		resp, err := d.client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "%s\n%s", line, body)
		ran++
		got := d.lastLog(t, ran)
		assert.Equal(t, req.Method, got.method, line)
		assert.Equal(t, req.URL.Path, got.path, line)
		assert.Equal(t, resp.StatusCode, got.status, line)
		assert.Equal(t, wantHow, got.how, "%s\n%s", line, got.raw)
		checkAnswer(t, req, resp, string(body))
		want = -1
	}
	assert.Equal(t, 19, ran, "the demo prints nineteen commands:\n%s", printed)

	tokens := tokenRe.FindAllString(printed, -1)
	require.GreaterOrEqual(t, len(tokens), 4)
	for _, l := range d.logLines(t) {
		assert.NotContains(t, l.raw, "Atza|", "no token in the log")
		for _, tok := range tokens {
			assert.NotContains(t, l.raw, strings.TrimPrefix(tok, "Atza|"))
		}
	}
}

// checkAnswer checks the body and headers of some of the printed commands.
func checkAnswer(t *testing.T, req *http.Request, resp *http.Response, body string) {
	t.Helper()
	switch {
	case req.Method == http.MethodOptions:
		h := resp.Header
		assert.Equal(t, req.Header.Get("Origin"), h.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, h.Get("Access-Control-Allow-Headers"), "Authorization")
		assert.Contains(t, h.Get("Access-Control-Allow-Headers"), "X-Amz-Access-Token")
		assert.Contains(t, h.Get("Access-Control-Allow-Methods"), "GET")
		assert.Equal(t, "WWW-Authenticate", h.Get("Access-Control-Expose-Headers"))
		assert.Empty(t, body)
	case req.URL.Path == "/me" && resp.StatusCode == http.StatusOK:
		var p map[string]string
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		assert.Equal(t, "amzn1.account.DEMOUSER", p["user_id"])
		assert.Equal(t, "Ada Lovelace", p["name"])
	case req.URL.Path == "/me/token":
		var info struct {
			ClientID  string    `json:"client_id"`
			IssuedAt  time.Time `json:"issued_at"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &info), body)
		assert.Equal(t, demoClientID, info.ClientID)
		assert.False(t, info.IssuedAt.IsZero(), body)
		assert.True(t, info.ExpiresAt.After(info.IssuedAt), body)
		assert.NotContains(t, body, "Atza|")
	case req.URL.Path == "/hello" && resp.StatusCode == http.StatusOK:
		if req.Header.Get("Authorization") != "" {
			assert.JSONEq(t, `{"hello":"Ada Lovelace"}`, body)
		} else {
			assert.JSONEq(t, `{"hello":"stranger"}`, body)
		}
	case req.URL.Path == "/postal" && resp.StatusCode == http.StatusOK:
		assert.JSONEq(t, `{"postal_code":"98052"}`, body)
	case req.URL.Path == "/postal":
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
	case req.URL.Path == "/html/me":
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		if resp.StatusCode == http.StatusOK {
			assert.Contains(t, body, "<h1>Hello, Ada Lovelace</h1>")
		} else {
			assert.Contains(t, body, "<h1>400 invalid_request</h1>")
			assert.Equal(t, `Bearer error="invalid_request", error_description="the request carries no access token"`, resp.Header.Get("WWW-Authenticate"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		}
	case req.URL.Path == "/logout":
		assert.JSONEq(t, `{"signed_out":true}`, body)
	case req.URL.Path == "/metrics":
		assert.Contains(t, body, "lwa_requests_total")
	}
}

func TestBadFlag(t *testing.T) {
	err := run(context.Background(), []string{"-nope"}, io.Discard, nil)
	require.Error(t, err)
}
