package lwatest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-lwa/lwa/region"
)

// amazonHost is one of Login with Amazon's hosts the fake can pose as.
type amazonHost struct {
	region string // "na", "eu", "fe"
	signIn bool   // a sign-in host (/ap/oa, /code), else an API host
}

// amazonHosts maps the host names of every region's endpoints (see package
// region) to what they serve.
var amazonHosts = func() map[string]amazonHost {
	m := map[string]amazonHost{}
	for _, r := range region.All() {
		for _, raw := range []string{r.AuthURL, r.TokenURL, r.CodePairURL, r.APIURL} {
			u, err := url.Parse(raw)
			if err != nil {
				panic("lwatest: " + err.Error())
			}
			m[u.Hostname()] = amazonHost{region: r.Name, signIn: raw == r.AuthURL}
		}
	}
	return m
}()

// servedOn reports whether the endpoint ep is served on a host of this
// kind: the authorization and code-entry pages on the sign-in hosts
// (www.amazon.com, eu.account.amazon.com, apac.account.amazon.com), the
// rest on the API hosts (api.amazon.com, .co.uk, .co.jp).
func (h amazonHost) servedOn(ep Endpoint) bool {
	page := ep == EndpointAuthorize || ep == EndpointCodeEntry
	return page == h.signIn
}

// hostRegion returns the region whose host the request was addressed to
// ("na", "eu", "fe"), or "" for any other host (the fake's own address).
func hostRegion(hostport string) (amazonHost, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	h, ok := amazonHosts[strings.ToLower(host)]
	return h, ok
}

// Region returns the server's endpoints as a region.Region named "lwatest":
// AuthURL, TokenURL and CodePairURL are the server's, APIURL is URL. Code
// that takes a region.Region runs against the fake with it.
func (s *Server) Region() region.Region {
	return region.Region{
		Name:        "lwatest",
		AuthURL:     s.AuthURL(),
		TokenURL:    s.TokenURL(),
		CodePairURL: s.CodePairURL(),
		APIURL:      s.URL,
	}
}

// AmazonClient returns an HTTP client for which the server is Amazon: it
// sends every request for one of Login with Amazon's hosts, in any region
// (www.amazon.com, eu.account.amazon.com, apac.account.amazon.com,
// api.amazon.com, api.amazon.co.uk, api.amazon.co.jp; https only), to the
// server, with the request's Host unchanged. An app configured with
// region.EU, or with core.EndpointFE, thus runs unchanged in a test, and
// [Call.Host] and [Call.Region] tell which region's host it asked.
//
// Posing as Amazon, the server answers the authorization and code-entry
// pages on the sign-in hosts only and the API endpoints on the API hosts
// only (404 not_found otherwise), as Amazon does. The code-entry page the
// code-pair endpoint names (verification_uri) stays on the server's own URL,
// so that a test's browser can open it.
//
// Requests for the server's own URL and for loopback addresses (a test's
// own servers) go through unchanged; a request for any other host fails
// without leaving the machine. Like [Server.Client], the client trusts a
// TLS server's certificate and its idle connections are closed by Close.
func (s *Server) AmazonClient() *http.Client {
	fake, err := url.Parse(s.URL)
	if err != nil {
		panic("lwatest: " + err.Error())
	}
	return &http.Client{Transport: &amazonTransport{base: s.ts.Client().Transport, fake: fake}}
}

// amazonTransport is AmazonClient's http.RoundTripper.
type amazonTransport struct {
	base http.RoundTripper
	fake *url.URL
}

func (t *amazonTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == t.fake.Host || isLoopback(req.URL.Hostname()) {
		return t.base.RoundTrip(req)
	}
	fail := func(format string, args ...any) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("lwatest: AmazonClient: "+format, args...)
	}
	if _, ok := hostRegion(req.URL.Host); !ok {
		return fail("%s is not a Login with Amazon host (nor loopback); the fake answers for %s", req.URL.Host, strings.Join(amazonHostNames(), ", "))
	}
	if req.URL.Scheme != "https" || (req.URL.Port() != "" && req.URL.Port() != "443") {
		return fail("Login with Amazon is served on https://%s only, not %s://%s", req.URL.Hostname(), req.URL.Scheme, req.URL.Host)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = t.fake.Scheme, t.fake.Host
	out.Host = req.URL.Hostname()
	return t.base.RoundTrip(out)
}

// CloseIdleConnections closes the idle connections to the server.
func (t *amazonTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// amazonHostNames lists the hosts AmazonClient poses as, region by region.
func amazonHostNames() []string {
	var names []string
	for _, r := range region.All() {
		for _, raw := range []string{r.AuthURL, r.APIURL} {
			u, _ := url.Parse(raw)
			names = append(names, u.Hostname())
		}
	}
	return names
}
