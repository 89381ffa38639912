package main

// The error table's rows, each reproduced against a fresh fake LWA server,
// shared by the tests of the decision endpoints (decision_test.go) and the
// tests through a real nginx (nginx_test.go).

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Routes a row may ask for.
const (
	routeDefault = ""       // a location protected under -require alone
	routePostal  = "postal" // a location that also requires postal_code (the decision URL's ?require=)
)

// rowEnv is what a row runs against: a fake LWA server, the lwaauthz
// asking it, and the transport that carries a client's request to the
// protected service (straight to a decision endpoint, or through nginx).
type rowEnv struct {
	srv *lwatest.Server
	az  *authz
	// send sends a client request for route with headers h and the raw
	// query q, and returns the answer the client gets.
	send func(t *testing.T, route string, h http.Header, q string) response
	// fire sends the same request from another goroutine and ignores the
	// answer; wait returns once it is answered.
	fire func(route string, h http.Header) (wait func())
}

// row is one row of the error table.
type row struct {
	name  string
	group string // the lwaauthz configuration it needs (groupArgs)
	want  expectation
	run   func(t *testing.T, e *rowEnv) response
}

// groupArgs are lwaauthz's flags for each group of rows: each group runs
// against its own fake LWA server and lwaauthz (and nginx).
var groupArgs = map[string][]string{
	"table":    {"-timeout", "500ms"},
	"routes":   nil,
	"rfc6750":  {"-rfc6750"},
	"breaker":  {"-breaker-failures", "1", "-breaker-cooldown", "1m"},
	"overload": {"-max-concurrent", "1", "-max-pending", "1", "-timeout", "20s"},
}

// groupOrder is the order groups run in. The rows of "routes" need a
// location with requirements of its own (the decision URL's ?require=).
var groupOrder = []string{"table", "routes", "rfc6750", "breaker", "overload"}

const otherClientID = "amzn1.application-oa2-client.someone-else"

func issue(e *rowEnv, opts ...lwatest.TokenOption) string {
	return e.srv.Issue(lwatest.ClientID, ada, opts...)
}

// noUpstream asserts that the fake LWA server was asked nothing.
func noUpstream(t *testing.T, e *rowEnv) {
	t.Helper()
	assert.Zero(t, e.srv.CallCount(lwatest.EndpointTokenInfo)+e.srv.CallCount(lwatest.EndpointProfile), "rejected without asking Amazon")
}

// tableRows are every row of the error table, in Amazon's statuses and in
// RFC 6750's.
func tableRows() []row {
	tokeninfo, profile := endpoint(lwatest.EndpointTokenInfo), endpoint(lwatest.EndpointProfile)
	return []row{
		{"no token", "table", expectation{status: 400, code: core.CodeInvalidRequest}, func(t *testing.T, e *rowEnv) response {
			r := e.send(t, routeDefault, nil, "")
			noUpstream(t, e)
			return r
		}},
		{"two different tokens", "table", expectation{status: 400, code: core.CodeInvalidRequest}, func(t *testing.T, e *rowEnv) response {
			h := bearer(issue(e))
			h.Set(core.HeaderAmzAccessToken, issue(e))
			return e.send(t, routeDefault, h, "")
		}},
		{"header and original query differ", "table", expectation{status: 400, code: core.CodeInvalidRequest}, func(t *testing.T, e *rowEnv) response {
			// The query comes from the original request's URI.
			return e.send(t, routeDefault, bearer(issue(e)), "access_token="+url.QueryEscape(issue(e)))
		}},
		{"malformed", "table", expectation{status: 400, code: core.CodeInvalidRequest}, func(t *testing.T, e *rowEnv) response {
			r := e.send(t, routeDefault, http.Header{"X-Amz-Access-Token": {"Atza|abc def"}}, "")
			noUpstream(t, e)
			return r
		}},
		{"oversized", "table", expectation{status: 400, code: core.CodeInvalidRequest}, func(t *testing.T, e *rowEnv) response {
			r := e.send(t, routeDefault, bearer("Atza|"+strings.Repeat("a", core.MaxTokenLen)), "")
			noUpstream(t, e)
			return r
		}},
		{"revoked at Amazon", "table", expectation{status: 400, code: core.CodeInvalidToken, ridFrom: tokeninfo}, func(t *testing.T, e *rowEnv) response {
			tok := issue(e)
			e.srv.Revoke(tok)
			return e.send(t, routeDefault, bearer(tok), "")
		}},
		{"expired", "table", expectation{status: 400, code: core.CodeInvalidToken, ridFrom: tokeninfo}, func(t *testing.T, e *rowEnv) response {
			tok := issue(e)
			e.srv.Expire(tok)
			return e.send(t, routeDefault, bearer(tok), "")
		}},
		{"insufficient scope", "table", expectation{status: 401, code: core.CodeInsufficientScope, ridFrom: profile}, func(t *testing.T, e *rowEnv) response {
			return e.send(t, routeDefault, bearer(issue(e, lwatest.WithScopes())), "")
		}},
		{"required field missing", "routes", expectation{status: 401, code: core.CodeInsufficientScope}, func(t *testing.T, e *rowEnv) response {
			tok := issue(e, lwatest.WithScopes("profile"))
			require.Equal(t, http.StatusOK, e.send(t, routeDefault, bearer(tok), "").status, "enough for a location without requirements")
			return e.send(t, routePostal, bearer(tok), "")
		}},
		{"another app's token", "table", expectation{status: 404, code: core.CodeNotFound, ridFrom: tokeninfo}, func(t *testing.T, e *rowEnv) response {
			return e.send(t, routeDefault, bearer(e.srv.Issue(otherClientID, ada)), "")
		}},
		{"Amazon fails", "table", expectation{status: 502, code: core.CodeServerError, ridFrom: tokeninfo}, func(t *testing.T, e *rowEnv) response {
			e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError, Times: 1})
			return e.send(t, routeDefault, bearer(issue(e)), "")
		}},
		{"Amazon answers no JSON", "table", expectation{status: 502, code: core.CodeServerError, ridFrom: profile}, func(t *testing.T, e *rowEnv) response {
			// Every profile call until Recover: a profile call the previous row
			// cancelled may still reach the fake and would use up Times: 1.
			e.srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: "<html>oops</html>", ContentType: "text/html"})
			defer e.srv.Recover()
			return e.send(t, routeDefault, bearer(issue(e)), "")
		}},
		{"Amazon hangs", "table", expectation{status: 504, code: core.CodeServerError}, func(t *testing.T, e *rowEnv) response {
			e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true, Times: 1})
			return e.send(t, routeDefault, bearer(issue(e)), "")
		}},

		{"RFC 6750: no token", "rfc6750", expectation{status: 401, code: core.CodeInvalidRequest, challenge: "Bearer"}, func(t *testing.T, e *rowEnv) response {
			return e.send(t, routeDefault, nil, "")
		}},
		{"RFC 6750: revoked", "rfc6750", expectation{status: 401, code: core.CodeInvalidToken, ridFrom: tokeninfo}, func(t *testing.T, e *rowEnv) response {
			tok := issue(e)
			e.srv.Revoke(tok)
			return e.send(t, routeDefault, bearer(tok), "")
		}},
		{"RFC 6750: another app's token", "rfc6750", expectation{status: 401, code: core.CodeInvalidToken, ridFrom: tokeninfo}, func(t *testing.T, e *rowEnv) response {
			return e.send(t, routeDefault, bearer(e.srv.Issue(otherClientID, ada)), "")
		}},
		{"RFC 6750: insufficient scope", "rfc6750", expectation{status: 403, code: core.CodeInsufficientScope, ridFrom: profile}, func(t *testing.T, e *rowEnv) response {
			return e.send(t, routeDefault, bearer(issue(e, lwatest.WithScopes())), "")
		}},

		{"circuit breaker open", "breaker", expectation{status: 503, code: core.CodeServerError, retryAfter: "60"}, func(t *testing.T, e *rowEnv) response {
			e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError, Times: 1})
			require.Equal(t, http.StatusBadGateway, e.send(t, routeDefault, bearer(issue(e)), "").status, "the failure that opens the breaker")
			calls := e.srv.CallCount(lwatest.EndpointTokenInfo)
			r := e.send(t, routeDefault, bearer(issue(e)), "")
			assert.Equal(t, calls, e.srv.CallCount(lwatest.EndpointTokenInfo), "the open breaker asked nobody")
			return r
		}},

		{"too many verifications waiting", "overload", expectation{status: 503, code: core.CodeServerError, retryAfter: "1"}, func(t *testing.T, e *rowEnv) response {
			e.srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
			holder := e.fire(routeDefault, bearer(issue(e)))
			require.Eventually(t, func() bool { return e.srv.CallCount(lwatest.EndpointTokenInfo) == 1 }, 10*time.Second, time.Millisecond, "the holder asks Amazon")
			waiter := e.fire(routeDefault, bearer(issue(e)))
			require.Eventually(t, func() bool { return e.az.metric(t, "lwa_verifications_waiting") == 1 }, 10*time.Second, 2*time.Millisecond, "the waiter waits for the slot")
			r := e.send(t, routeDefault, bearer(issue(e)), "")
			e.srv.Close() // releases the hanging calls
			holder()
			waiter()
			return r
		}},
	}
}

// runRows runs every row, one group at a time; start returns the
// environment of a group, given lwaauthz's flags. Without routes, the
// "routes" group is left out: the proxy cannot vary its question per
// location.
func runRows(t *testing.T, start func(t *testing.T, args []string) *rowEnv, check func(t *testing.T, e *rowEnv, r row, got response), routes bool) {
	rows := tableRows()
	for _, g := range groupOrder {
		if g == "routes" && !routes {
			continue
		}
		t.Run(g, func(t *testing.T) {
			e := start(t, groupArgs[g])
			for _, r := range rows {
				if r.group != g {
					continue
				}
				t.Run(r.name, func(t *testing.T) { check(t, e, r, r.run(t, e)) })
			}
		})
	}
}

// firer returns a fire function for a plain send function.
func firer(client *http.Client, req func(route string, h http.Header) *http.Request) func(route string, h http.Header) func() {
	return func(route string, h http.Header) func() {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := client.Do(req(route, h)); err == nil {
				resp.Body.Close()
			}
		}()
		return wg.Wait
	}
}
