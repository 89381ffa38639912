package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// TestRevoke: POST /revoke stops accepting the presented token (and only
// it); POST /revoke/user stops accepting every token of its customer issued
// until then; only a valid token is revoked, and only with POST.
func TestRevoke(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil)
	decide := func(tok string) int {
		t.Helper()
		return az.do(t, http.MethodGet, pathForward, bearer(tok)).status
	}

	tok := srv.Issue(lwatest.ClientID, ada)
	other := srv.Issue(lwatest.ClientID, ada)
	require.Equal(t, http.StatusOK, decide(tok))
	require.Equal(t, http.StatusOK, decide(other))

	r := az.do(t, http.MethodGet, pathRevoke, bearer(tok))
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Equal(t, "POST", r.header.Get("Allow"))
	require.Equal(t, http.StatusOK, decide(tok), "a GET revoked nothing")

	checkRejection(t, az.do(t, http.MethodPost, pathRevoke, nil), expectation{status: 400, code: core.CodeInvalidRequest}, srv)
	checkRejection(t, az.do(t, http.MethodPost, pathRevoke, bearer("Atza|never-issued")), expectation{status: 400, code: core.CodeInvalidToken, ridFrom: endpoint(lwatest.EndpointTokenInfo)}, srv)

	r = az.do(t, http.MethodPost, pathRevoke, bearer(tok))
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	checkRejection(t, az.do(t, http.MethodGet, pathForward, bearer(tok)), expectation{status: 400, code: core.CodeInvalidToken}, srv)
	assert.Equal(t, http.StatusOK, decide(other), "another token of the same customer is still accepted")

	// The token in the query string of the revocation request itself.
	q := srv.Issue(lwatest.ClientID, ada)
	require.Equal(t, http.StatusOK, decide(q))
	require.Equal(t, http.StatusNoContent, az.do(t, http.MethodPost, pathRevoke+"?access_token="+strings.Replace(q, "|", "%7C", 1), nil).status)
	assert.Equal(t, http.StatusBadRequest, decide(q))

	// Sign out everywhere.
	bob := core.Profile{UserID: "amzn1.account.BOB", Email: "bob@example.com"}
	b1, b2 := srv.Issue(lwatest.ClientID, bob), srv.Issue(lwatest.ClientID, bob)
	require.Equal(t, http.StatusOK, decide(b1))
	require.Equal(t, http.StatusOK, decide(b2))
	require.Equal(t, http.StatusNoContent, az.do(t, http.MethodPost, pathRevokeUser, bearer(b1)).status)
	assert.Equal(t, http.StatusBadRequest, decide(b1))
	assert.Equal(t, http.StatusBadRequest, decide(b2), "every token of the customer")
	assert.Equal(t, http.StatusOK, decide(other), "another customer's tokens are untouched")
}

// TestAdmin: /healthz, /readyz and /metrics on the admin listener (or on
// -addr when -admin-addr is ""); the decision endpoints are not there, and
// the admin endpoints are not on -addr.
func TestAdmin(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil)
	tok := srv.Issue(lwatest.ClientID, ada)
	require.Equal(t, http.StatusOK, az.do(t, http.MethodGet, pathNginx, bearer(tok)).status)
	require.Equal(t, http.StatusOK, az.do(t, http.MethodGet, pathNginx, bearer(tok)).status)
	require.Equal(t, http.StatusUnauthorized, az.do(t, http.MethodGet, pathNginx, nil).status)

	r := send(t, az.client, http.MethodGet, az.admin+"/healthz", nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"status":"ok"}`, string(r.body))
	r = send(t, az.client, http.MethodGet, az.admin+"/readyz", nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"status":"ready","redis":"off"}`, string(r.body))

	assert.Equal(t, 2.0, az.metric(t, `lwa_requests_total{lwa_outcome="authenticated"`))
	assert.Equal(t, 1.0, az.metric(t, `lwa_requests_total{error_type="invalid_request",lwa_outcome="rejected"`))
	assert.Equal(t, 1.0, az.metric(t, `lwa_cache_lookups_total{lwa_cache_result="hit",lwa_cache_tier="local"`))
	assert.Equal(t, 1.0, az.metric(t, `lwa_verifications_total{lwa_outcome="ok"`))
	assert.Positive(t, az.metric(t, "go_goroutines"))
	m := send(t, az.client, http.MethodGet, az.admin+"/metrics", nil)
	assert.NotContains(t, string(m.body), tok, "no token in the metrics")
	assert.NotContains(t, string(m.body), ada.Email)

	for _, p := range []string{pathNginx, pathForward, pathRevoke} {
		assert.Equal(t, http.StatusNotFound, send(t, az.client, http.MethodGet, az.admin+p, nil).status, "%s is not on the admin listener", p)
	}
	for _, p := range []string{"/healthz", "/metrics", "/", "/authz"} {
		assert.Equal(t, http.StatusNotFound, az.do(t, http.MethodGet, p, nil).status, "%s is not on -addr", p)
	}

	t.Run("one listener", func(t *testing.T) {
		one := startAuthz(t, srv, nil, "-admin-addr", "")
		assert.Equal(t, one.base, one.admin)
		assert.Equal(t, http.StatusOK, one.do(t, http.MethodGet, "/healthz", nil).status)
		assert.Equal(t, http.StatusOK, one.do(t, http.MethodGet, "/readyz", nil).status)
		assert.Equal(t, http.StatusOK, one.do(t, http.MethodGet, "/metrics", nil).status)
		assert.Equal(t, http.StatusOK, one.do(t, http.MethodGet, pathNginx, bearer(tok)).status)
	})
}

// TestGracefulShutdown: once ctx ends, /readyz answers 503 for
// -shutdown-delay, new connections are refused afterwards, and a decision
// in flight (Amazon is slow) completes with its answer.
func TestGracefulShutdown(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil, "-shutdown-delay", "300ms")
	srv.SetDelay(lwatest.EndpointTokenInfo, 600*time.Millisecond)
	tok := srv.Issue(lwatest.ClientID, ada)

	var wg sync.WaitGroup
	var inFlight response
	var inFlightErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := az.client.Do(newDecisionRequest(http.MethodGet, az.base+pathForward, bearer(tok)))
		if err != nil {
			inFlightErr = err
			return
		}
		defer resp.Body.Close()
		inFlight = response{status: resp.StatusCode, header: resp.Header}
	}()
	require.Eventually(t, func() bool { return srv.CallCount(lwatest.EndpointTokenInfo) == 1 }, 10*time.Second, time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- az.stop() }()
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	require.Eventually(t, func() bool {
		resp, err := probe.Get(az.admin + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode == http.StatusServiceUnavailable && body["status"] == "draining"
	}, 10*time.Second, 5*time.Millisecond, "/readyz says draining during the delay")

	wg.Wait()
	require.NoError(t, inFlightErr)
	assert.Equal(t, http.StatusOK, inFlight.status, "the decision in flight completes")
	assert.Equal(t, ada.UserID, inFlight.header.Get("X-Lwa-User-Id"))
	require.NoError(t, <-stopped)
	_, err := probe.Get(az.base + pathForward)
	assert.Error(t, err, "the listener is closed")
}

// TestHealthcheck: -healthcheck asks /healthz of the lwaauthz configured
// the same way.
func TestHealthcheck(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil)
	env := func(string) string { return "" }
	admin := strings.TrimPrefix(az.admin, "http://")
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-healthcheck", "-admin-addr", admin}, env, &out, nil),
		"needs no client ID: a container's HEALTHCHECK gets the environment, not the entrypoint's flags")
	require.NoError(t, az.stop())
	assert.Error(t, run(context.Background(), []string{"-healthcheck", "-admin-addr", admin}, env, &out, nil))
}

// TestRunErrors: a configuration lwaauthz cannot serve stops it at once
// with the reason.
func TestRunErrors(t *testing.T) {
	env := func(string) string { return "" }
	var out bytes.Buffer
	err := run(context.Background(), []string{"-client-id", "x", "-endpoint", "ftp://example.com"}, env, &out, nil)
	assert.ErrorContains(t, err, "invalid endpoint")
	err = run(context.Background(), []string{"-client-id", "x", "-addr", "256.0.0.1:0"}, env, &out, nil)
	assert.Error(t, err)
	err = run(context.Background(), []string{"-client-id", "x", "-timeout", "0s", "-addr", "127.0.0.1:0"}, env, &out, nil)
	assert.ErrorContains(t, err, "timeout must be positive")
	out.Reset()
	err = run(context.Background(), []string{"-h"}, env, &out, nil)
	assert.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, out.String(), "LWAAUTHZ_<FLAG>")
	assert.Contains(t, out.String(), "-client-id")
}

// TestLogsHoldNoSecret: at debug level, with accepted, rejected, revoked
// and failed decisions, lwaauthz's log holds no token and none of the
// customer's email, name or postal code.
func TestLogsHoldNoSecret(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil, "-log-level", "debug", "-headers", "user_id,email,name,postal_code")
	tok := srv.Issue(lwatest.ClientID, ada)
	other := srv.Issue(otherClientID, ada)
	bad := "Atza|" + strings.Repeat("x", 400)
	require.Equal(t, http.StatusOK, az.do(t, http.MethodGet, pathNginx, bearer(tok)).status)
	require.Equal(t, http.StatusUnauthorized, az.do(t, http.MethodGet, pathNginx, bearer(other)).status)
	require.Equal(t, http.StatusBadRequest, az.do(t, http.MethodGet, pathForward, bearer(bad)).status)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
	failing := srv.Issue(lwatest.ClientID, ada)
	require.Equal(t, http.StatusBadGateway, az.do(t, http.MethodGet, pathForward, bearer(failing)).status)
	require.Equal(t, http.StatusNoContent, az.do(t, http.MethodPost, pathRevoke, bearer(tok)).status)
	require.NoError(t, az.stop())

	logs := az.logs.String()
	require.Contains(t, logs, "request rejected", "debug logging was on")
	for _, secret := range []string{tok, other, bad, failing, strings.TrimPrefix(tok, "Atza|")[:40], ada.Email, ada.Name, ada.PostalCode} {
		assert.NotContains(t, logs, secret)
	}
}
