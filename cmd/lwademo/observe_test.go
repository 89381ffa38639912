package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
)

// TestCoalescedRequests: concurrent first uses of one token share one
// verification; the log says which request asked Amazon and which waited.
func TestCoalescedRequests(t *testing.T) {
	d := startDemo(t, "-web-addr", "off")
	tok := d.fake.Issue(demoClientID, demoCustomer)
	d.fake.ResetCalls()
	d.fake.SetDelay(lwatest.EndpointTokenInfo, 300*time.Millisecond)

	const n = 6
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			status, body := d.get(t, "/me", tok)
			assert.Equal(t, http.StatusOK, status, body)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, d.fake.CallCount(lwatest.EndpointTokenInfo), "one verification for all")

	hows := map[string]int{}
	for _, l := range d.waitLog(t, n) {
		hows[l.how]++
	}
	assert.Equal(t, 1, hows["verified upstream"], "%v", hows)
	assert.GreaterOrEqual(t, hows["coalesced"], 1, "%v", hows)
	assert.Equal(t, n, hows["verified upstream"]+hows["coalesced"]+hows["local cache"], "%v", hows)
}

// TestRequestLogNeverHasToken sends tokens every way a client can, good
// and bad, and finds none of them in the log.
func TestRequestLogNeverHasToken(t *testing.T) {
	d := startDemo(t, "-web-addr", "off")
	good := d.fake.Issue(demoClientID, demoCustomer)
	bad := "Atza|" + strings.Repeat("Q", 400)
	refresh := "Atzr|" + strings.Repeat("R", 60)
	weird := "Atza|\"quoted\" with spaces"
	n := 0
	send := func(method, path string, h http.Header, want int, how string) {
		t.Helper()
		status, _, body := d.do(t, method, path, h)
		assert.Equal(t, want, status, "%s %s: %s", method, path, body)
		n++
		assert.Equal(t, how, d.lastLog(t, n).how, "%s %s", method, path)
	}
	send("GET", "/me", http.Header{"Authorization": {"Bearer " + good}}, 200, "verified upstream")
	send("GET", "/me", http.Header{"X-Amz-Access-Token": {good}}, 200, "local cache")
	send("GET", "/me?access_token="+url.QueryEscape(good), nil, 200, "local cache")
	send("GET", "/hello?access_token="+url.QueryEscape(good), nil, 200, "local cache")
	send("GET", "/me", http.Header{"Authorization": {"Bearer " + bad}}, 400, "rejected invalid_token")
	send("GET", "/me", http.Header{"Authorization": {"Bearer " + bad}}, 400, "rejected invalid_token") // remembered
	send("GET", "/me?access_token="+url.QueryEscape(bad), http.Header{"Authorization": {"Bearer " + good}}, 400, "rejected invalid_request")
	send("GET", "/me", http.Header{"Authorization": {"Bearer " + refresh}}, 400, "rejected invalid_token")
	send("GET", "/hello", http.Header{"X-Amz-Access-Token": {weird}}, 400, "rejected invalid_request")
	send("GET", "/healthz", http.Header{"Authorization": {"Bearer " + good}}, 200, "skipped")
	send("GET", "/healthz?access_token="+url.QueryEscape(bad), nil, 200, "skipped")
	send("GET", "/nope?access_token="+url.QueryEscape(good), nil, 404, "public")

	log := ""
	for _, l := range d.waitLog(t, n) {
		log += l.raw + "\n"
	}
	for _, secret := range []string{"Atza", "Atzr", "access_token", "QQQQQQQQ", "RRRRRRRR", "quoted", good[5:25], url.QueryEscape(good)[8:30]} {
		assert.NotContains(t, log, secret)
	}
	for _, pii := range []string{demoCustomer.Email, demoCustomer.Name, demoCustomer.UserID, demoCustomer.PostalCode} {
		assert.NotContains(t, log, pii)
	}
}

// TestMetrics: /metrics serves the verifier's OpenTelemetry metrics in
// Prometheus format, counts what happened, and holds no token nor any of
// the customers' details.
func TestMetrics(t *testing.T) {
	d := startDemo(t, "-web-addr", "off")
	assert.Contains(t, d.out.String(), "curl -i "+d.base+"/metrics\n")
	mallory := core.Profile{UserID: "amzn1.account.MALLORY", Email: "mallory@example.net", Name: "Mallory Evil", PostalCode: "66666"}
	good := d.fake.Issue(demoClientID, demoCustomer)
	scopeless := d.fake.Issue(demoClientID, demoCustomer, lwatest.WithScopes("profile"))
	theirs := d.fake.Issue("amzn1.application-oa2-client.someoneelse", mallory)
	for range 3 {
		status, _ := d.get(t, "/me", good)
		require.Equal(t, http.StatusOK, status)
	}
	status, _ := d.get(t, "/postal", scopeless)
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = d.get(t, "/me", theirs)
	require.Equal(t, http.StatusNotFound, status)
	status, _ = d.get(t, "/hello", "")
	require.Equal(t, http.StatusOK, status)

	status, header, body := d.do(t, http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, header.Get("Content-Type"), "text/plain")

	assert.Equal(t, 3.0, sample(t, body, "lwa_requests_total", `lwa_outcome="authenticated"`))
	assert.Equal(t, 1.0, sample(t, body, "lwa_requests_total", `lwa_outcome="anonymous"`))
	assert.Equal(t, 1.0, sample(t, body, "lwa_requests_total", `error_type="not_found"`, `lwa_outcome="rejected"`))
	assert.Equal(t, 1.0, sample(t, body, "lwa_requests_total", `error_type="insufficient_scope"`, `lwa_outcome="rejected"`))
	assert.Equal(t, 2.0, sample(t, body, "lwa_cache_lookups_total", `lwa_cache_result="hit"`, `lwa_cache_tier="local"`))
	// good and scopeless asked Amazon, who accepted them (the postal code
	// is the route's requirement); theirs, Amazon's answer rejected.
	assert.Equal(t, 2.0, sample(t, body, "lwa_verifications_total", `lwa_outcome="ok"`))
	assert.Equal(t, 1.0, sample(t, body, "lwa_verifications_total", `error_type="not_found"`, `lwa_outcome="rejected"`))
	assert.Contains(t, body, "lwa_upstream_duration_seconds_bucket{")
	assert.Contains(t, body, `lwa_endpoint="tokeninfo"`)
	assert.Contains(t, body, "lwa_verification_duration_seconds_bucket{")

	for _, secret := range []string{"Atza", good[5:25], scopeless[5:25], theirs[5:25],
		demoCustomer.Email, demoCustomer.Name, demoCustomer.UserID, demoCustomer.PostalCode, "ada@", "Lovelace",
		mallory.Email, mallory.Name, mallory.UserID, mallory.PostalCode} {
		assert.NotContains(t, body, secret)
	}
}

// sample returns the value of the Prometheus sample of name whose labels
// include all of labels; it fails the test when there is none.
func sample(t *testing.T, body, name string, labels ...string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\{([^}]*)\} (\S+)$`)
next:
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		for _, l := range labels {
			if !strings.Contains(m[1], l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(m[2], 64)
		require.NoError(t, err)
		return v
	}
	t.Fatalf("no sample %s%v in\n%s", name, labels, body)
	return 0
}

// TestRedisSharedCache runs two replicas of the demo on one real Redis: a
// token verified by the first is served by the second from Redis, without
// asking its Amazon; a sign-out on the second stops the token on the
// first.
func TestRedisSharedCache(t *testing.T) {
	rs := redistest.Start(t)
	// The fleet key, as an operator gives it to every replica.
	t.Setenv(core.EnvSharedKeys, base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	a := startDemo(t, "-web-addr", "off", "-redis", rs.Addr())
	b := startDemo(t, "-web-addr", "off", "-redis", rs.Addr())
	for _, d := range []*started{a, b} {
		assert.Contains(t, d.out.String(), "lwademo: shared cache: Redis at "+rs.Addr()+" (core.WithSharedCache(redislwa.New(rdb)))")
		assert.Contains(t, d.out.String(), "lwademo: fleet key: 1 key(s) from "+core.EnvSharedKeys)
		assert.NotContains(t, d.out.String(), "warning")
	}
	tok := a.fake.Issue(demoClientID, demoCustomer)

	status, body := a.get(t, "/me", tok)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "verified upstream", a.lastLog(t, 1).how)
	assert.Equal(t, 1, a.fake.CallCount(lwatest.EndpointTokenInfo))

	// Replica b has never seen the token, and its own (fake) Amazon does
	// not know it: only Redis can answer.
	status, body = b.get(t, "/me", tok)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"name":"Ada Lovelace"`)
	assert.Equal(t, "shared cache", b.lastLog(t, 1).how)
	status, _ = b.get(t, "/me/token", tok)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "local cache", b.lastLog(t, 2).how)
	assert.Equal(t, 0, b.fake.CallCount(lwatest.EndpointTokenInfo), "b never asked Amazon")
	assert.Equal(t, 0, b.fake.CallCount(lwatest.EndpointProfile))
	assert.Equal(t, 1, a.fake.CallCount(lwatest.EndpointTokenInfo), "one upstream verification for the fleet")

	// Redis holds no token, nor the customer's details, in the clear.
	keys, err := rs.Client(t).Keys(t.Context(), "*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.NotContains(t, k, "Atza")
		if v, err := rs.Client(t).Get(t.Context(), k).Result(); err == nil {
			for _, s := range []string{"Atza", tok[5:25], demoCustomer.Email, demoCustomer.Name, demoCustomer.UserID} {
				assert.NotContains(t, v, s)
			}
		}
	}

	// Signing out on b revokes the token on a too.
	status, _, body = b.do(t, http.MethodPost, "/logout", http.Header{"Authorization": {"Bearer " + tok}})
	require.Equal(t, http.StatusOK, status, body)
	require.Eventually(t, func() bool {
		status, _ := a.get(t, "/me", tok)
		return status == http.StatusBadRequest
	}, 5*time.Second, 20*time.Millisecond, "the revocation reaches replica a")
	lines := a.logLines(t)
	assert.Equal(t, "rejected invalid_token", lines[len(lines)-1].how)
}

// TestRedisUnreachable: a Redis that does not answer is reported at
// startup, and the demo still verifies tokens, without the shared tier.
func TestRedisUnreachable(t *testing.T) {
	d := startDemo(t, "-web-addr", "off", "-redis", "127.0.0.1:1")
	assert.Contains(t, d.out.String(), "lwademo: warning: Redis at 127.0.0.1:1 does not answer")
	tok := d.fake.Issue(demoClientID, demoCustomer)
	status, body := d.get(t, "/me", tok)
	assert.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "verified upstream", d.lastLog(t, 1).how)
}

// TestRoutesHaveMethods: every route answers its own method only, and a
// preflight without an allowed Origin is refused by the CORS middleware.
func TestRoutesHaveMethods(t *testing.T) {
	d := startDemo(t, "-web-addr", "off")
	tok := d.fake.Issue(demoClientID, demoCustomer)
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	for _, path := range []string{"/me", "/me/token", "/hello", "/postal", "/html/me", "/healthz", "/metrics"} {
		status, header, _ := d.do(t, http.MethodPost, path, bearer)
		assert.Equal(t, http.StatusMethodNotAllowed, status, path)
		assert.Contains(t, header.Get("Allow"), "GET", path)
	}
	status, _, _ := d.do(t, http.MethodGet, "/logout", bearer)
	assert.NotEqual(t, http.StatusOK, status)
	status, header, _ := d.do(t, http.MethodOptions, "/me", http.Header{"Access-Control-Request-Method": {"GET"}})
	assert.Equal(t, http.StatusForbidden, status, "refused by the CORS middleware")
	assert.Empty(t, header.Get("Access-Control-Allow-Origin"))
	lines := d.waitLog(t, 9)
	assert.Equal(t, "preflight", lines[8].how)
	assert.Equal(t, 0, d.fake.CallCount(lwatest.EndpointTokenInfo), "no route verified a token for a method it does not serve")
}

// TestHTMLErrorHandler: /html/me answers every rejection as an HTML page
// with the rejection's status, and escapes what it shows.
func TestHTMLErrorHandler(t *testing.T) {
	d := startDemo(t, "-web-addr", "off")
	theirs := d.fake.Issue("amzn1.application-oa2-client.someoneelse", core.Profile{Name: "Mallory"})
	status, header, body := d.do(t, http.MethodGet, "/html/me", http.Header{"Authorization": {"Bearer " + theirs}})
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "text/html; charset=utf-8", header.Get("Content-Type"))
	assert.Empty(t, header.Get("WWW-Authenticate"), "a 404 carries no challenge")
	assert.Contains(t, body, "<h1>404 not_found</h1>")
	assert.NotContains(t, body, "Mallory")

	status, header, body = d.do(t, http.MethodGet, "/html/me", http.Header{"Authorization": {"Bearer Atza|broken"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, header.Get("WWW-Authenticate"), `error="invalid_token"`)
	assert.Contains(t, body, "<h1>400 invalid_token</h1>")

	evil := d.fake.Issue(demoClientID, core.Profile{Name: `<script>alert("x")</script>`, Email: "e@example.com"})
	status, _, body = d.do(t, http.MethodGet, "/html/me", http.Header{"Authorization": {"Bearer " + evil}})
	assert.Equal(t, http.StatusOK, status)
	assert.NotContains(t, body, "<script>")
	assert.Contains(t, body, "&lt;script&gt;")
}

// TestSkipReadsNoToken: the health check is let through by Skip before
// any token is read: a bad token does not fail it, and Amazon is not asked.
func TestSkipReadsNoToken(t *testing.T) {
	d := startDemo(t, "-web-addr", "off")
	status, header, body := d.do(t, http.MethodGet, "/healthz", http.Header{"Authorization": {"Bearer Atza|broken", "Bearer Atza|two"}})
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	assert.Empty(t, header.Get("WWW-Authenticate"))
	assert.Equal(t, "skipped", d.lastLog(t, 1).how)
	assert.Equal(t, 0, d.fake.CallCount(lwatest.EndpointTokenInfo))
}
