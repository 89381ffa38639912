package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// transport is one way a proxy asks lwaauthz: it builds the decision
// request for a client's request, and reads the answer the proxy gives the
// client.
type transport struct {
	name string
	// request builds the decision request for a client request of route
	// with headers h and raw query q, sent with method.
	request func(base, method, route string, h http.Header, q string) *http.Request
	// answer is the answer the client gets for a rejection.
	answer func(t testing.TB, r response) response
	// routes says whether the proxy can ask for per-location requirements
	// (Envoy's HTTP ext_authz cannot vary the check request per route).
	routes bool
}

func newDecisionRequest(method, url string, h http.Header) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return req
}

func requireQuery(route string) string {
	if route == routePostal {
		return "?require=postal_code"
	}
	return ""
}

// transports are the three proxies' ways of asking.
var transports = []transport{
	{
		name: "nginx auth_request",
		request: func(base, method, route string, h http.Header, q string) *http.Request {
			req := newDecisionRequest(http.MethodGet, base+pathNginx+requireQuery(route), h) // nginx's subrequest is a GET
			req.Header.Set("X-Original-URI", "/api/orders?"+q)
			req.Header.Set("X-Original-Method", method)
			return req
		},
		answer: decodeNginx,
		routes: true,
	},
	{
		name: "Traefik forwardAuth",
		request: func(base, method, route string, h http.Header, q string) *http.Request {
			req := newDecisionRequest(http.MethodGet, base+pathForward+requireQuery(route), h)
			req.Header.Set("X-Forwarded-Uri", "/api/orders?"+q)
			req.Header.Set("X-Forwarded-Method", method)
			return req
		},
		answer: func(_ testing.TB, r response) response { return r },
		routes: true,
	},
	{
		name: "Envoy ext_authz",
		request: func(base, method, route string, h http.Header, q string) *http.Request {
			u := base + pathForward + "/api/orders"
			if q != "" {
				u += "?" + q
			}
			return newDecisionRequest(method, u, h) // Envoy keeps the method, prefixes the path
		},
		answer: func(_ testing.TB, r response) response { return r },
	},
}

// rowEnvFor returns a row environment asking lwaauthz directly, as tr's
// proxy would.
func rowEnvFor(tr transport, srv *lwatest.Server, az *authz) *rowEnv {
	return &rowEnv{
		srv: srv,
		az:  az,
		send: func(t *testing.T, route string, h http.Header, q string) response {
			t.Helper()
			resp, err := az.client.Do(tr.request(az.base, http.MethodGet, route, h, q))
			require.NoError(t, err)
			r := readResponse(t, resp)
			if r.status == http.StatusOK {
				return r
			}
			return tr.answer(t, r)
		},
		fire: firer(az.client, func(route string, h http.Header) *http.Request {
			return tr.request(az.base, http.MethodGet, route, h, "")
		}),
	}
}

// TestDecisionRows: every row of the error table, as each proxy asks: the
// answer the proxy passes to the client is the table's status, body and
// headers (for nginx, once decoded from the 401 with X-Lwa-* headers, as
// deploy/nginx does; nginx_test.go shows nginx itself doing it).
func TestDecisionRows(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			runRows(t, func(t *testing.T, args []string) *rowEnv {
				srv := lwatest.Start(t)
				return rowEnvFor(tr, srv, startAuthz(t, srv, nil, args...))
			}, func(t *testing.T, e *rowEnv, r row, got response) {
				checkRejection(t, got, r.want, e.srv)
			}, tr.routes)
		})
	}
}

// TestDecisionAccepts: an accepted request is answered 200 with the
// configured identity headers, and nothing else; values that are not plain
// ASCII are percent-encoded UTF-8; a token answered from the cache asks
// Amazon nothing.
func TestDecisionAccepts(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil, "-headers", "user_id,email,name=X-Lwa-Display-Name,postal_code,client_id")
	zoe := core.Profile{UserID: "amzn1.account.ZOE", Email: "zoe@example.com", Name: "Zoë 山田 100%", PostalCode: "75001"}
	tok := srv.Issue(lwatest.ClientID, zoe)
	want := http.Header{
		"X-Lwa-User-Id":      {zoe.UserID},
		"X-Lwa-Email":        {zoe.Email},
		"X-Lwa-Display-Name": {"Zo%C3%AB %E5%B1%B1%E7%94%B0 100%25"},
		"X-Lwa-Postal-Code":  {zoe.PostalCode},
		"X-Lwa-Client-Id":    {lwatest.ClientID},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			resp, err := az.client.Do(tr.request(az.base, http.MethodPost, routeDefault, bearer(tok), ""))
			require.NoError(t, err)
			r := readResponse(t, resp)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Empty(t, r.body)
			assert.Equal(t, want, lwaHeaders(r.header))
			name, err := url.PathUnescape(r.header.Get("X-Lwa-Display-Name"))
			require.NoError(t, err)
			assert.Equal(t, zoe.Name, name, "decodes to the customer's name")
			assert.Equal(t, []string{"no-store"}, r.header.Values("Cache-Control"))
		})
	}
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "one verification for the three decisions")

	t.Run("scope without email", func(t *testing.T) {
		r := az.do(t, http.MethodGet, pathNginx, bearer(srv.Issue(lwatest.ClientID, zoe, lwatest.WithScopes("profile:user_id"))))
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, http.Header{"X-Lwa-User-Id": {zoe.UserID}, "X-Lwa-Client-Id": {lwatest.ClientID}}, lwaHeaders(r.header),
			"a field the customer did not grant is absent, never empty")
	})
}

// lwaHeaders returns the X-Lwa-* headers of h.
func lwaHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, HeaderPrefix) {
			out[k] = v
		}
	}
	return out
}

// TestTokenSources: the token is read where each proxy forwards it: the
// original request's headers, cookie and query (from X-Original-URI,
// X-Forwarded-Uri or Envoy's prefixed path).
func TestTokenSources(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil, "-token-cookie", "lwa_token", "-token-header", "X-Api-Token")
	tok := srv.Issue(lwatest.ClientID, ada)
	encoded := strings.Replace(tok, "|", "%7C", 1)
	cases := []struct {
		name string
		h    http.Header
		q    string
	}{
		{"Authorization", bearer(tok), ""},
		{"x-amz-access-token", http.Header{"X-Amz-Access-Token": {tok}}, ""},
		{"query", nil, "a=1&access_token=" + url.QueryEscape(tok)},
		{"percent-encoded query", nil, "access_token=" + url.QueryEscape(encoded)},
		{"cookie", http.Header{"Cookie": {"theme=dark; lwa_token=" + tok}}, ""},
		{"custom header", http.Header{"X-Api-Token": {tok}}, ""},
		{"same token twice", bearer(tok), "access_token=" + url.QueryEscape(tok)},
	}
	for _, tr := range transports {
		for _, c := range cases {
			t.Run(tr.name+"/"+c.name, func(t *testing.T) {
				resp, err := az.client.Do(tr.request(az.base, http.MethodGet, routeDefault, c.h, c.q))
				require.NoError(t, err)
				r := readResponse(t, resp)
				require.Equal(t, http.StatusOK, r.status, "%v", r.header)
				assert.Equal(t, ada.UserID, r.header.Get("X-Lwa-User-Id"))
			})
		}
	}

	t.Run("query off", func(t *testing.T) {
		az := startAuthz(t, srv, nil, "-query-token=false")
		for _, tr := range transports {
			resp, err := az.client.Do(tr.request(az.base, http.MethodGet, routeDefault, nil, "access_token="+url.QueryEscape(tok)))
			require.NoError(t, err)
			checkRejection(t, tr.answer(t, readResponse(t, resp)), expectation{status: 400, code: core.CodeInvalidRequest}, srv)
		}
	})
}

// TestPreflight: a CORS preflight carries no token, so by default it is
// rejected like any request without one (a proxy must answer preflights
// before asking lwaauthz); with -pass-preflight it is allowed without
// identity headers, and only a real preflight is.
func TestPreflight(t *testing.T) {
	srv := lwatest.Start(t)
	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"DELETE"}}
	t.Run("default", func(t *testing.T) {
		az := startAuthz(t, srv, nil)
		for _, tr := range transports {
			resp, err := az.client.Do(tr.request(az.base, http.MethodOptions, routeDefault, preflight, ""))
			require.NoError(t, err)
			checkRejection(t, tr.answer(t, readResponse(t, resp)), expectation{status: 400, code: core.CodeInvalidRequest}, srv)
		}
	})
	t.Run("pass", func(t *testing.T) {
		az := startAuthz(t, srv, nil, "-pass-preflight")
		for _, tr := range transports {
			resp, err := az.client.Do(tr.request(az.base, http.MethodOptions, routeDefault, preflight, ""))
			require.NoError(t, err)
			r := readResponse(t, resp)
			assert.Equal(t, http.StatusOK, r.status, tr.name)
			assert.Empty(t, lwaHeaders(r.header), "no identity on a preflight")

			resp, err = az.client.Do(tr.request(az.base, http.MethodOptions, routeDefault, http.Header{"Origin": {"https://app.example"}}, ""))
			require.NoError(t, err)
			checkRejection(t, tr.answer(t, readResponse(t, resp)), expectation{status: 400, code: core.CodeInvalidRequest}, srv)
		}
	})
	assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestDecisionQuery: the decision URL's query can only add requirements;
// anything else in it is a configuration error, answered 500 (never an
// acceptance).
func TestDecisionQuery(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil)
	tok := srv.Issue(lwatest.ClientID, ada)
	for _, q := range []string{"?require=postal_code,email", "?require=postal_code&require=name"} {
		for range 2 { // the second answer comes from the remembered handler
			r := az.do(t, http.MethodGet, pathNginx+q, bearer(tok))
			require.Equal(t, http.StatusOK, r.status, q)
		}
	}
	for _, q := range []string{"?required=postal_code", "?require=user_id", "?require=%zz", "?optional=1"} {
		r := decodeNginx(t, az.do(t, http.MethodGet, pathNginx+q, bearer(tok)))
		assert.Equal(t, http.StatusInternalServerError, r.status, q)
		r = az.do(t, http.MethodGet, pathForward+q, bearer(tok))
		assert.Equal(t, http.StatusInternalServerError, r.status, q)
		assert.Contains(t, string(r.body), `"server_error"`)
	}
}

func readResponse(t testing.TB, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// TestRequireFlag: -require applies to every decision, on every endpoint.
func TestRequireFlag(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil, "-require", "postal_code")
	noPostal := srv.Issue(lwatest.ClientID, ada, lwatest.WithScopes("profile"))
	want := expectation{status: 401, code: core.CodeInsufficientScope, ridFrom: endpoint(lwatest.EndpointProfile)}
	for _, tr := range transports {
		resp, err := az.client.Do(tr.request(az.base, http.MethodGet, routeDefault, bearer(noPostal), ""))
		require.NoError(t, err)
		checkRejection(t, tr.answer(t, readResponse(t, resp)), want, srv)
	}
	r := az.do(t, http.MethodGet, pathNginx, bearer(srv.Issue(lwatest.ClientID, ada)))
	assert.Equal(t, http.StatusOK, r.status)
}
