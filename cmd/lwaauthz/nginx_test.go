package main

// lwaauthz behind a real nginx running deploy/nginx's configuration.

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
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

// nginxPath is the path of a client request to a route of the example
// site.
func nginxPath(route string) string {
	if route == routePostal {
		return "/shipping/orders"
	}
	return "/api/orders"
}

// TestNginxRows: every row of the error table through nginx: the client
// gets the table's real status (400, 401, 403, 404, 502, 503, 504), JSON
// body, WWW-Authenticate and Retry-After, though nginx's auth_request
// understands only 2xx, 401 and 403; the app is never reached.
func TestNginxRows(t *testing.T) {
	runRows(t, func(t *testing.T, args []string) *rowEnv {
		srv := lwatest.Start(t)
		az := startAuthz(t, srv, nil, args...)
		e := startEdge(t, startApp(t), []string{hostPort(az.base)}, nil)
		request := func(route string, h http.Header, q string) *http.Request {
			u := e.ngx.URL() + nginxPath(route)
			if q != "" {
				u += "?" + q
			}
			return newDecisionRequest(http.MethodGet, u, h)
		}
		return &rowEnv{
			srv: srv,
			az:  az,
			send: func(t *testing.T, route string, h http.Header, q string) response {
				t.Helper()
				resp, err := e.client.Do(request(route, h, q))
				require.NoError(t, err)
				return readResponse(t, resp)
			},
			fire: firer(e.client, func(route string, h http.Header) *http.Request { return request(route, h, "") }),
		}
	}, func(t *testing.T, e *rowEnv, r row, got response) {
		checkRejection(t, got, r.want, e.srv)
		assert.Empty(t, got.header.Values("X-App"), "the app was not reached")
		assert.Empty(t, lwaHeaders(got.header), "no X-Lwa-* header reaches the client")
	}, true)
}

// nginxBed is one lwaauthz behind nginx, with its fake LWA server.
type nginxBed struct {
	srv *lwatest.Server
	az  *authz
	*edge
}

func startNginxBed(t *testing.T, args ...string) *nginxBed {
	t.Helper()
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil, args...)
	return &nginxBed{srv: srv, az: az, edge: startEdge(t, startApp(t), []string{hostPort(az.base)}, nil)}
}

// TestNginxAccepts: a valid token reaches the app with the customer's
// identity in X-Lwa-* headers, from every source; the client gets the
// app's answer and no X-Lwa-* header; the second request with the same
// token asks Amazon nothing.
func TestNginxAccepts(t *testing.T) {
	b := startNginxBed(t, "-headers", "user_id,email,name,postal_code", "-token-cookie", "lwa_token")
	zoe := core.Profile{UserID: "amzn1.account.ZOE", Email: "zoe@example.com", Name: "Zoë Saldaña", PostalCode: "75001"}
	tok := b.srv.Issue(lwatest.ClientID, zoe)

	r := b.do(t, http.MethodGet, "/api/orders", bearer(tok))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "reached", r.header.Get("X-App"))
	assert.Empty(t, lwaHeaders(r.header), "the decision's headers stay between nginx and the app")
	got := b.app.last(t)
	assert.Equal(t, "/api/orders", got.URL.Path)
	assert.Equal(t, http.Header{
		"X-Lwa-User-Id":     {zoe.UserID},
		"X-Lwa-Email":       {zoe.Email},
		"X-Lwa-Name":        {"Zo%C3%AB Salda%C3%B1a"},
		"X-Lwa-Postal-Code": {zoe.PostalCode},
	}, lwaHeaders(got.Header))
	assert.Equal(t, 1, b.srv.CallCount(lwatest.EndpointTokenInfo))
	assert.Equal(t, 1, b.srv.CallCount(lwatest.EndpointProfile))

	// Cached: the second request asks Amazon nothing.
	r = b.do(t, http.MethodPost, "/shipping/label", bearer(tok))
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, http.MethodPost, b.app.last(t).Method)
	assert.Equal(t, zoe.UserID, b.app.last(t).Header.Get("X-Lwa-User-Id"))
	assert.Equal(t, 1, b.srv.CallCount(lwatest.EndpointTokenInfo), "answered from lwaauthz's cache")
	assert.Equal(t, 1, b.srv.CallCount(lwatest.EndpointProfile))

	// The other sources, as nginx forwards them.
	for _, h := range []http.Header{{"X-Amz-Access-Token": {tok}}, {"Cookie": {"theme=dark; lwa_token=" + tok}}} {
		r = b.do(t, http.MethodGet, "/api/orders", h)
		require.Equal(t, http.StatusOK, r.status, "%v", h)
		assert.Equal(t, zoe.UserID, b.app.last(t).Header.Get("X-Lwa-User-Id"))
	}
	r = b.do(t, http.MethodGet, "/api/orders?page=2&access_token="+url.QueryEscape(tok), nil)
	require.Equal(t, http.StatusOK, r.status, "the query of the original URI (X-Original-URI)")
	assert.Equal(t, zoe.UserID, b.app.last(t).Header.Get("X-Lwa-User-Id"))
	assert.Equal(t, "page=2&access_token="+url.QueryEscape(tok), b.app.last(t).URL.RawQuery, "the app gets its query as sent")
	assert.Empty(t, strings.TrimSpace(b.ngx.ErrorLog()), "nginx logged nothing")
}

// TestNginxSpoofing: identity headers a client sends never reach the app
// nor lwaauthz, whatever their case, count or spelling, on protected and
// public locations, with or without a valid token.
func TestNginxSpoofing(t *testing.T) {
	srv := lwatest.Start(t)
	az := startAuthz(t, srv, nil) // -headers user_id,email: no X-Lwa-Name from lwaauthz
	// Between nginx and lwaauthz, a proxy that records what the
	// subrequests carry.
	var mu sync.Mutex
	var toAuthz []http.Header
	target, err := url.Parse(az.base)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		toAuthz = append(toAuthz, r.Header.Clone())
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(recorder.Close)
	e := startEdge(t, startApp(t), []string{hostPort(recorder.URL)}, nil)

	spoofed := func() http.Header {
		h := http.Header{}
		h["X-Lwa-User-Id"] = []string{"amzn1.account.MALLORY", "amzn1.account.MALLORY2"}
		h["X-LWA-EMAIL"] = []string{"mallory@example.com"}
		h["x-lwa-name"] = []string{"Mallory"}
		h["X-Lwa-Postal-Code"] = []string{"00000"}
		h["X-Lwa-Client-Id"] = []string{lwatest.ClientID}
		h["X_Lwa_User_Id"] = []string{"amzn1.account.UNDERSCORE"}
		h["X-Lwa-Status"] = []string{"200"}
		return h
	}
	tok := srv.Issue(lwatest.ClientID, ada)
	noMallory := func(t *testing.T, h http.Header) {
		t.Helper()
		for k, vs := range h {
			for _, v := range vs {
				assert.NotContains(t, strings.ToLower(v), "mallory", "%s: %s", k, v)
				assert.NotContains(t, v, "UNDERSCORE", "%s: %s", k, v)
				assert.NotContains(t, v, "00000", "%s: %s", k, v)
			}
			assert.False(t, strings.EqualFold(k, "X_Lwa_User_Id"), "underscore header %s", k)
		}
	}

	t.Run("protected, valid token", func(t *testing.T) {
		h := spoofed()
		h.Set("Authorization", "Bearer "+tok)
		r := e.do(t, http.MethodGet, "/api/orders", h)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		got := e.app.last(t).Header
		noMallory(t, got)
		assert.Equal(t, http.Header{"X-Lwa-User-Id": {ada.UserID}, "X-Lwa-Email": {ada.Email}}, lwaHeaders(got),
			"lwaauthz's values, once each, and no other X-Lwa-* header")
		assert.Equal(t, []string{ada.UserID}, got.Values("X-Lwa-User-Id"), "lwaauthz's value, once")
		assert.Equal(t, []string{ada.Email}, got.Values("X-Lwa-Email"))
		assert.Empty(t, got.Values("X-Lwa-Name"), "not emitted by lwaauthz: removed")
		assert.Empty(t, got.Values("X-Lwa-Postal-Code"))
		assert.Empty(t, got.Values("X-Lwa-Client-Id"))
	})
	t.Run("protected, no token", func(t *testing.T) {
		before := e.app.count()
		r := e.do(t, http.MethodGet, "/api/orders", spoofed())
		checkRejection(t, r, expectation{status: 400, code: core.CodeInvalidRequest}, srv)
		assert.Equal(t, before, e.app.count(), "the app was not reached")
	})
	t.Run("public", func(t *testing.T) {
		r := e.do(t, http.MethodGet, "/about", spoofed())
		require.Equal(t, http.StatusOK, r.status)
		got := e.app.last(t).Header
		noMallory(t, got)
		assert.Empty(t, lwaHeaders(got), "no identity on a public location")
	})
	t.Run("to lwaauthz", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, toAuthz)
		for _, h := range toAuthz {
			noMallory(t, h)
			assert.Empty(t, lwaHeaders(h), "the subrequest carries no X-Lwa-* header")
			assert.NotEmpty(t, h.Get("X-Original-Uri"))
		}
	})
}

// TestNginxFailClosed: when lwaauthz cannot answer (unreachable, too slow),
// nginx answers 500 and the app is never reached.
func TestNginxFailClosed(t *testing.T) {
	srv := lwatest.Start(t)
	tok := srv.Issue(lwatest.ClientID, ada)

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close() // nobody listens there any more
		e := startEdge(t, startApp(t), []string{addr}, nil)
		r := e.do(t, http.MethodGet, "/api/orders", bearer(tok))
		assert.Equal(t, http.StatusInternalServerError, r.status)
		assert.Zero(t, e.app.count())
	})
	t.Run("hangs", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
		require.NoError(t, err)
		var conns sync.WaitGroup
		conns.Add(1)
		go func() {
			defer conns.Done()
			var held []net.Conn
			for {
				c, err := ln.Accept()
				if err != nil {
					for _, c := range held {
						c.Close()
					}
					return
				}
				held = append(held, c)
			}
		}()
		t.Cleanup(func() { ln.Close(); conns.Wait() })
		e := startEdge(t, startApp(t), []string{ln.Addr().String()}, map[string][2]string{
			"snippets/lwa-subrequest.conf": {"proxy_read_timeout 10s;", "proxy_read_timeout 300ms;"},
		})
		r := e.do(t, http.MethodGet, "/api/orders", bearer(tok))
		assert.Equal(t, http.StatusInternalServerError, r.status)
		assert.Zero(t, e.app.count())
	})
	t.Run("stopped", func(t *testing.T) {
		b := startNginxBed(t)
		tok := b.srv.Issue(lwatest.ClientID, ada)
		require.Equal(t, http.StatusOK, b.do(t, http.MethodGet, "/api/orders", bearer(tok)).status)
		require.NoError(t, b.az.stop())
		before := b.app.count()
		r := b.do(t, http.MethodGet, "/api/orders", bearer(tok))
		assert.Equal(t, http.StatusInternalServerError, r.status)
		assert.Equal(t, before, b.app.count())
	})
}

// TestNginxPreflight: a CORS preflight carries no token: by default it is
// rejected and never reaches the app.
func TestNginxPreflight(t *testing.T) {
	b := startNginxBed(t)
	r := b.do(t, http.MethodOptions, "/api/orders", http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"DELETE"}})
	checkRejection(t, r, expectation{status: 400, code: core.CodeInvalidRequest}, b.srv)
	assert.Zero(t, b.app.count())
}

// TestNginxLogout: POST /logout revokes the presented token; it is then
// rejected at every protected location.
func TestNginxLogout(t *testing.T) {
	b := startNginxBed(t)
	tok := b.srv.Issue(lwatest.ClientID, ada)
	require.Equal(t, http.StatusOK, b.do(t, http.MethodGet, "/api/orders", bearer(tok)).status)
	assert.Equal(t, http.StatusMethodNotAllowed, b.do(t, http.MethodGet, "/logout", bearer(tok)).status)
	r := b.do(t, http.MethodPost, "/logout", bearer(tok))
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	before := b.app.count()
	checkRejection(t, b.do(t, http.MethodGet, "/api/orders", bearer(tok)), expectation{status: 400, code: core.CodeInvalidToken}, b.srv)
	checkRejection(t, b.do(t, http.MethodGet, "/shipping/x", bearer(tok)), expectation{status: 400, code: core.CodeInvalidToken}, b.srv)
	assert.Equal(t, before, b.app.count())

	// With the token in the query string.
	q := b.srv.Issue(lwatest.ClientID, ada)
	require.Equal(t, http.StatusNoContent, b.do(t, http.MethodPost, "/logout?access_token="+url.QueryEscape(q), nil).status)
	checkRejection(t, b.do(t, http.MethodGet, "/api/orders?access_token="+url.QueryEscape(q), nil), expectation{status: 400, code: core.CodeInvalidToken}, b.srv)
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, what)
}
