package main

// The decision endpoints: a proxy asks, for each request it receives,
// whether the request's token is a valid Login with Amazon token of ours,
// and copies the verified customer's headers upstream.
//
//	/auth-request   nginx auth_request. Original URI and method in
//	                X-Original-URI and X-Original-Method. A rejection is
//	                answered 401 with the real answer in X-Lwa-* headers
//	                (nginx turns any status but 2xx, 401 and 403 into 500).
//	/auth           Traefik forwardAuth. Original URI and method in
//	                X-Forwarded-Uri and X-Forwarded-Method (X-Original-URI
//	                and X-Original-Method are read too). A rejection is the
//	                real answer, which the proxy passes to the client.
//	/auth/<path>    Envoy ext_authz (HTTP service, path_prefix "/auth"): the
//	                original path and query follow the prefix, the method is
//	                the original one. Answers as /auth.
//
// An accepted request is answered 200 with the identity headers (-headers)
// and nothing else. On /auth-request and /auth, the decision URL's own
// query may add requirements for one protected location:
// ?require=postal_code (comma-separated, on top of -require). It never
// relaxes anything; on /auth/<path> the query is the original request's.

import (
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/go-lwa/lwa/core"
)

// Paths of the decision endpoints.
const (
	pathNginx        = "/auth-request"
	pathForward      = "/auth"
	pathForwardTree  = "/auth/"
	maxPolicyHandles = 64 // distinct decision queries remembered
)

// decisions answers the decision endpoints of one protocol.
type decisions struct {
	v      *core.Verifier
	emit   []identityHeader
	pass   bool // -pass-preflight
	reject func(http.ResponseWriter, *http.Request, *core.Error)
	def    http.Handler // the decision under -require alone

	mu      sync.RWMutex
	byQuery map[string]http.Handler // per decision query (?require=...)
}

// newDecisions returns the decisions of one protocol: nginx (rejections as
// 401 with X-Lwa-* headers) or forward (rejections as they are).
func newDecisions(v *core.Verifier, c *config, nginx bool) *decisions {
	d := &decisions{v: v, emit: c.headers, pass: c.passPreflight, byQuery: map[string]http.Handler{}}
	if nginx {
		d.reject = func(w http.ResponseWriter, _ *http.Request, e *core.Error) { setNginxRejection(w, e) }
	}
	d.def = d.build(nil)
	return d
}

// build returns the handler that decides with the verifier's checks
// (-require included) plus the extra required fields.
func (d *decisions) build(extra []string) http.Handler {
	return protect(d.v, policy{required: extra, passPreflight: d.pass}, d.reject)(http.HandlerFunc(d.allow))
}

// handlerFor returns the handler for a decision URL's raw query.
func (d *decisions) handlerFor(rawQuery string) (http.Handler, *core.Error) {
	if rawQuery == "" {
		return d.def, nil
	}
	d.mu.RLock()
	h := d.byQuery[rawQuery]
	d.mu.RUnlock()
	if h != nil {
		return h, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, internalError("lwaauthz: the decision URL's query cannot be parsed")
	}
	var extra []string
	for k, vs := range q {
		if k != "require" {
			return nil, internalError("lwaauthz: unknown decision parameter " + url.QueryEscape(k) + " (want require)")
		}
		for _, v := range vs {
			f, err := parseFields(v)
			if err != nil {
				return nil, internalError("lwaauthz: require: " + err.Error())
			}
			extra = append(extra, f...)
		}
	}
	h = d.build(extra)
	d.mu.Lock()
	if len(d.byQuery) < maxPolicyHandles {
		d.byQuery[rawQuery] = h
	}
	d.mu.Unlock()
	return h, nil
}

// fail answers a request lwaauthz cannot decide: never allowed.
func (d *decisions) fail(w http.ResponseWriter, r *http.Request, e *core.Error) {
	if d.reject != nil {
		d.reject(w, r, e)
		return
	}
	writeError(w, e)
}

// serveNginx answers nginx's auth_request subrequest.
func (d *decisions) serveNginx(w http.ResponseWriter, r *http.Request) {
	h, err := d.handlerFor(r.URL.RawQuery)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	h.ServeHTTP(w, original(r, r.Header.Get("X-Original-URI"), r.Header.Get("X-Original-Method")))
}

// serveForward answers Traefik's forwardAuth (/auth) and Envoy's
// ext_authz (/auth/<original path>).
func (d *decisions) serveForward(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != pathForward { // Envoy: r is the original request, path prefixed
		d.def.ServeHTTP(w, r)
		return
	}
	h, err := d.handlerFor(r.URL.RawQuery)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	uri := firstOf(r.Header.Get("X-Forwarded-Uri"), r.Header.Get("X-Original-URI"))
	method := firstOf(r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Original-Method"))
	h.ServeHTTP(w, original(r, uri, method))
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// original returns the view of the proxied request that the middleware
// decides on: r's headers (the proxy forwards the original request's
// Authorization, x-amz-access-token and Cookie), with the original
// request's URI (for the access_token query parameter) and method (for
// CORS preflights), when the proxy sent them.
func original(r *http.Request, uri, method string) *http.Request {
	path, query, _ := strings.Cut(uri, "?")
	o := &originalRequest{req: *r, url: url.URL{Path: path, RawQuery: query}} // one allocation for both
	o.req.URL = &o.url
	o.req.RequestURI = ""
	if method != "" {
		o.req.Method = method
	}
	return &o.req
}

// originalRequest holds the shallow copy of a decision request and its
// URL in one allocation.
type originalRequest struct {
	req http.Request
	url url.URL
}

// allow answers a request the middleware let through: 200 with the
// identity headers. Only a CORS preflight under -pass-preflight comes
// without a profile (and gets none); anything else without a profile
// cannot happen and is refused.
func (d *decisions) allow(w http.ResponseWriter, r *http.Request) {
	p, info, ok := verified(r)
	if !ok {
		if d.pass && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header()["Cache-Control"] = noStore
			w.WriteHeader(http.StatusOK)
			return
		}
		d.fail(w, r, internalError("lwaauthz: a request without a verified profile"))
		return
	}
	h := w.Header()
	vals := make([]string, len(d.emit)) // one allocation for every header value
	for i, e := range d.emit {
		if v := e.value(&p, &info); v != "" {
			vals[i] = headerValue(v)
			h[e.name] = vals[i : i+1 : i+1]
		}
	}
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
}

var noStore = []string{"no-store"}
