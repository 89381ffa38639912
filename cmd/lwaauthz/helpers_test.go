package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/proctest"
	"github.com/go-lwa/lwa/lwatest"
)

// TestMain fails the run if a goroutine outlives the tests: every lwaauthz
// started by a test is stopped (its verifier, Redis client and metrics
// closed), every nginx and lwatest server too.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// authz is one lwaauthz started in-process by a test, on loopback ports.
type authz struct {
	base   string // http://addr: decisions and revocations
	admin  string // http://admin-addr
	logs   *proctest.Output
	client *http.Client
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startAuthz starts lwaauthz against the fake LWA server srv, accepting
// lwatest.ClientID, with env as its environment and args after the
// defaults; it is stopped (and must stop cleanly) when the test ends.
func startAuthz(t testing.TB, srv *lwatest.Server, env map[string]string, args ...string) *authz {
	t.Helper()
	all := append([]string{
		"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0",
		"-client-id", lwatest.ClientID, "-endpoint", srv.URL, "-log-level", "error",
	}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	a := &authz{logs: &proctest.Output{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan listening, 1)
	go func() {
		a.done <- run(ctx, all, func(k string) string { return env[k] }, a.logs, func(l listening) { ready <- l })
	}()
	select {
	case l := <-ready:
		a.base = "http://" + l.addr
		a.admin = "http://" + l.admin
		if l.admin == "" {
			a.admin = a.base
		}
	case err := <-a.done:
		cancel()
		t.Fatalf("lwaauthz did not start: %v\n%s", err, a.logs)
	}
	a.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	t.Cleanup(func() { require.NoError(t, a.stop(), "lwaauthz stops cleanly; log:\n%s", a.logs) })
	return a
}

// stop shuts lwaauthz down and returns run's error.
func (a *authz) stop() error {
	var err error
	a.once.Do(func() {
		a.client.CloseIdleConnections()
		a.cancel()
		select {
		case err = <-a.done:
		case <-time.After(30 * time.Second):
			err = io.ErrNoProgress
		}
	})
	return err
}

// response is one answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send sends one request with client and reads the answer.
func send(t testing.TB, client *http.Client, method, url string, h http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func (a *authz) do(t testing.TB, method, path string, h http.Header) response {
	t.Helper()
	return send(t, a.client, method, a.base+path, h)
}

// metric returns the value of the first sample of /metrics whose line
// starts with prefix (a metric name with, optionally, the start of its
// labels), or -1 when there is none.
func (a *authz) metric(t testing.TB, prefix string) float64 {
	t.Helper()
	r := send(t, a.client, http.MethodGet, a.admin+"/metrics", nil)
	require.Equal(t, http.StatusOK, r.status)
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			require.NoError(t, err, line)
			return v
		}
	}
	return -1
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// ada is the customer of most tests: every field set, a name that is not
// ASCII.
var ada = core.Profile{UserID: "amzn1.account.ADA", Email: "ada@example.com", Name: "Ada Lovelace", PostalCode: "98052"}

// checkRejection asserts that r is the error table's answer: status, JSON
// body as core renders it (with Amazon's request id of the last call to
// ridFrom, when ridFrom is not nil), Content-Type, Cache-Control,
// WWW-Authenticate (challenge, or core's rendering on 400, 401 and 403
// insufficient_scope) and Retry-After.
func checkRejection(t testing.TB, r response, want expectation, srv *lwatest.Server) {
	t.Helper()
	require.Equal(t, want.status, r.status, "body: %s", r.body)
	assert.Equal(t, []string{"application/json"}, r.header.Values("Content-Type"))
	assert.Equal(t, []string{"no-store"}, r.header.Values("Cache-Control"))
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		RequestID   string `json:"request_id"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body), "body: %s", r.body)
	assert.Equal(t, want.code, body.Error)
	assert.NotEmpty(t, body.Description)
	rid := ""
	if want.ridFrom != nil {
		calls := srv.Calls(*want.ridFrom)
		require.NotEmpty(t, calls, "no %v call", *want.ridFrom)
		rid = calls[len(calls)-1].RequestID
		require.NotEmpty(t, rid)
		// A call an earlier request cancelled may reach the fake after the
		// one that decided: the body's id must be one of that endpoint's
		// answers.
		for _, c := range calls {
			if c.RequestID == body.RequestID {
				rid = c.RequestID
			}
		}
	}
	assert.Equal(t, rid, body.RequestID)
	e := &core.Error{Status: want.status, Code: want.code, Description: body.Description, RequestID: rid}
	assert.Equal(t, string(e.Body()), string(r.body), "the body is core's rendering, byte for byte")
	switch {
	case want.challenge != "":
		assert.Equal(t, []string{want.challenge}, r.header.Values("WWW-Authenticate"))
	case e.WWWAuthenticate() != "":
		assert.Equal(t, []string{e.WWWAuthenticate()}, r.header.Values("WWW-Authenticate"))
	default:
		assert.Empty(t, r.header.Values("WWW-Authenticate"), "no challenge on %d", want.status)
	}
	if want.retryAfter != "" {
		assert.Equal(t, []string{want.retryAfter}, r.header.Values("Retry-After"))
	} else {
		assert.Empty(t, r.header.Values("Retry-After"))
	}
}

// expectation is a rejection a test expects.
type expectation struct {
	status     int
	code       string
	ridFrom    *lwatest.Endpoint // the call whose request id the body carries; nil for none
	challenge  string            // WWW-Authenticate, when not core's rendering for status and code
	retryAfter string
}

func endpoint(e lwatest.Endpoint) *lwatest.Endpoint { return &e }

// decodeNginx turns the nginx protocol's answer (401 with the real answer
// in X-Lwa-* headers) into the answer nginx re-emits, after checking its
// shape: 401, no body, no WWW-Authenticate of its own.
func decodeNginx(t testing.TB, r response) response {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, r.status, "the nginx protocol answers every rejection 401")
	assert.Empty(t, r.body)
	assert.Empty(t, r.header.Values("WWW-Authenticate"), "nginx would copy it to the client whatever the status")
	status, err := strconv.Atoi(r.header.Get(headerStatus))
	require.NoError(t, err, "X-Lwa-Status: %q", r.header.Get(headerStatus))
	h := http.Header{"Content-Type": {"application/json"}, "Cache-Control": r.header.Values("Cache-Control")}
	if v := r.header.Values(headerWWWAuthenticate); len(v) > 0 {
		h["Www-Authenticate"] = v
	}
	if v := r.header.Values(headerRetryAfter); len(v) > 0 {
		h["Retry-After"] = v
	}
	return response{status: status, header: h, body: []byte(r.header.Get(headerBody))}
}
