package core_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// maxUpstreamBody mirrors core's limit on an upstream answer.
const maxUpstreamBody = 64 << 10

// padded returns the JSON object body grown to exactly size bytes by an
// unknown member, which a verifier must ignore.
func padded(body string, size int) string {
	const head = `{"zz_padding":"`
	const tail = `",`
	n := size - len(body) - len(head) - len(tail) + 1 // body's own '{' goes
	if n < 0 {
		panic("body larger than size")
	}
	out := head + strings.Repeat("x", n) + tail + body[1:]
	if len(out) != size {
		panic("padded: wrong size")
	}
	return out
}

// TestUpstreamFaults: every answer that is not Amazon's documented one is a
// 502 (504 on timeout), is not cached either way, and is logged nowhere
// with the token.
func TestUpstreamFaults(t *testing.T) {
	ti := tokenInfoBody(alice.UserID, clientID, 3600)
	pr := profileBody(alice)
	jsonCT := func(ct string) http.Header { return http.Header{"Content-Type": {ct}} }
	for _, tc := range []struct {
		name    string
		ep      lwatest.Endpoint
		f       lwatest.Failure
		timeout time.Duration
		status  int
	}{
		{name: "tokeninfo 500", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 500}},
		{name: "tokeninfo 502", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 502}},
		{name: "tokeninfo 503", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 503}},
		{name: "tokeninfo 504", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 504}},
		{name: "tokeninfo 429", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 429}},
		{name: "tokeninfo 404", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 404}},
		{name: "tokeninfo 500 HTML", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 500, Body: "<html>down</html>", ContentType: "text/html"}},
		{name: "profile 500", ep: lwatest.EndpointProfile, f: lwatest.Failure{Status: 500}},
		{name: "profile 503", ep: lwatest.EndpointProfile, f: lwatest.Failure{Status: 503}},
		{name: "tokeninfo redirect not followed", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Status: 302, Body: "{}", Header: http.Header{"Location": {"/auth/o2/tokeninfo?access_token=x"}},
		}},
		{name: "profile redirect not followed", ep: lwatest.EndpointProfile, f: lwatest.Failure{
			Status: 307, Body: "{}", Header: http.Header{"Location": {"/user/profile"}},
		}},

		// 200 with a body that is not the documented JSON.
		{name: "tokeninfo not JSON", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: "not json"}},
		{name: "tokeninfo HTML", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: "<html></html>", ContentType: "text/html"}},
		{name: "tokeninfo right body, text/plain", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: ti, ContentType: "text/plain"}},
		{name: "tokeninfo normal answer, text/plain", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Header: jsonCT("text/plain")}},
		{name: "tokeninfo normal answer, application/jsonx", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Header: jsonCT("application/jsonx")}},
		{name: "tokeninfo normal answer, bad media type", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Header: jsonCT("application/json; =")}},
		{name: "tokeninfo normal answer, no Content-Type", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Header: http.Header{"Content-Type": {}}}},
		{name: "profile normal answer, text/html", ep: lwatest.EndpointProfile, f: lwatest.Failure{Header: jsonCT("text/html")}},
		{name: "tokeninfo invalid UTF-8", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: strings.Replace(ti, "www.amazon.com", "www.amazon.com\xff", 1)}},
		{name: "profile invalid UTF-8", ep: lwatest.EndpointProfile, f: lwatest.Failure{Body: strings.Replace(pr, "Alice", "Al\xc3ice", 1)}},
		{name: "tokeninfo trailing garbage", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: ti + "garbage"}},
		{name: "tokeninfo two objects", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: ti + ti}},
		{name: "tokeninfo trailing bracket", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: ti + "]"}},
		{name: "profile trailing garbage", ep: lwatest.EndpointProfile, f: lwatest.Failure{Body: pr + "{}"}},
		{name: "tokeninfo truncated", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: ti[:len(ti)-1]}},
		{name: "tokeninfo empty body", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: " "}},
		{name: "tokeninfo null", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: "null"}},
		{name: "tokeninfo array", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: "[" + ti + "]"}},
		{name: "tokeninfo string", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: `"ok"`}},
		{name: "tokeninfo missing aud", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"iss":"https://www.amazon.com","user_id":"` + alice.UserID + `","exp":3600}`}},
		{name: "tokeninfo missing user_id", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"iss":"https://www.amazon.com","aud":"` + clientID + `","exp":3600}`}},
		{name: "tokeninfo missing exp", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"iss":"https://www.amazon.com","user_id":"` + alice.UserID + `","aud":"` + clientID + `"}`}},
		{name: "tokeninfo null aud", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"user_id":"` + alice.UserID + `","aud":null,"exp":3600}`}},
		{name: "tokeninfo empty user_id", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: tokenInfoBody("", clientID, 3600)}},
		{name: "tokeninfo exp as string", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"user_id":"` + alice.UserID + `","aud":"` + clientID + `","exp":"3600"}`}},
		{name: "tokeninfo exp as float", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"user_id":"` + alice.UserID + `","aud":"` + clientID + `","exp":3600.5}`}},
		{name: "tokeninfo user_id as number", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"user_id":42,"aud":"` + clientID + `","exp":3600}`}},
		{name: "tokeninfo aud as array", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{
			Body: `{"user_id":"` + alice.UserID + `","aud":["` + clientID + `"],"exp":3600}`}},
		{name: "profile missing user_id", ep: lwatest.EndpointProfile, f: lwatest.Failure{Body: `{"name":"Alice","email":"alice@example.com"}`}},
		{name: "profile null user_id", ep: lwatest.EndpointProfile, f: lwatest.Failure{Body: `{"user_id":null}`}},
		{name: "profile email as number", ep: lwatest.EndpointProfile, f: lwatest.Failure{Body: `{"user_id":"` + alice.UserID + `","email":7}`}},
		{name: "tokeninfo over 64 KiB", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: padded(ti, maxUpstreamBody+1)}},
		{name: "profile over 64 KiB", ep: lwatest.EndpointProfile, f: lwatest.Failure{Body: padded(pr, maxUpstreamBody+1)}},
		{name: "tokeninfo 1 MiB", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Body: padded(ti, 1<<20)}},

		// Error answers that are not the documented JSON.
		{name: "tokeninfo 400 HTML", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 400, Body: "<html>bad</html>", ContentType: "text/html"}},
		{name: "tokeninfo 400 without error member", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 400, Body: `{"error_description":"x"}`}},
		{name: "tokeninfo 400 not JSON", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Status: 400, Body: "bad request"}},
		{name: "profile 401 not JSON", ep: lwatest.EndpointProfile, f: lwatest.Failure{Status: 401, Body: "unauthorized"}},
		{name: "profile 401 error as number", ep: lwatest.EndpointProfile, f: lwatest.Failure{Status: 401, Body: `{"error":401}`}},

		// Timeouts.
		{name: "tokeninfo hangs", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Hang: true}, timeout: 200 * time.Millisecond, status: 504},
		{name: "profile hangs", ep: lwatest.EndpointProfile, f: lwatest.Failure{Hang: true}, timeout: 200 * time.Millisecond, status: 504},
		{name: "tokeninfo slower than the timeout", ep: lwatest.EndpointTokenInfo, f: lwatest.Failure{Delay: 10 * time.Second}, timeout: 200 * time.Millisecond, status: 504},
		{name: "profile error slower than the timeout", ep: lwatest.EndpointProfile, f: lwatest.Failure{Status: 500, Delay: 10 * time.Second}, timeout: 200 * time.Millisecond, status: 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			var opts []core.Option
			if tc.timeout > 0 {
				opts = append(opts, core.WithTimeout(tc.timeout))
			}
			v := newVerifier(t, srv, opts...)
			tok := srv.Issue(clientID, alice)
			srv.Fail(tc.ep, tc.f)

			_, err := v.Verify(context.Background(), tok)
			if tc.status == 504 {
				requireRejection(t, err, 504, core.CodeServerError, core.ErrUpstreamTimeout)
			} else {
				e := requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
				if call := srv.Calls(tc.ep); len(call) == 1 && call[0].Status != 0 {
					assert.Equal(t, call[0].RequestID, e.RequestID, "the request id of the faulty answer")
				}
			}
			assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "one tokeninfo call (no redirect followed)")
			assert.LessOrEqual(t, srv.CallCount(lwatest.EndpointProfile), 1, "at most one profile call")

			// Not cached, positively or negatively.
			srv.Recover()
			requireVerified(t, v, tok, alice)
			assert.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo), "asked again after the fault")
		})
	}
}

// TestUpstreamBodyLimitBoundary: an answer of exactly 64 KiB is read whole.
func TestUpstreamBodyLimitBoundary(t *testing.T) {
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
		t.Run(ep.String(), func(t *testing.T) {
			srv := newServer(t)
			v := newVerifier(t, srv)
			body := tokenInfoBody(alice.UserID, clientID, 3600)
			if ep == lwatest.EndpointProfile {
				body = profileBody(alice)
			}
			srv.Fail(ep, lwatest.Failure{Body: padded(body, maxUpstreamBody)})
			requireVerified(t, v, srv.Issue(clientID, alice), alice)
		})
	}
}

// TestUpstreamTolerates documented variations: unknown members, a charset
// parameter, Amazon's own error Content-Type.
func TestUpstreamTolerates(t *testing.T) {
	for name, tc := range map[string]struct {
		ep lwatest.Endpoint
		f  lwatest.Failure
	}{
		"unknown tokeninfo members": {lwatest.EndpointTokenInfo, lwatest.Failure{
			Body: `{"new":{"nested":[1,2,{"x":null}]},"user_id":"` + alice.UserID + `","aud":"` + clientID + `","exp":3600,"scope":"profile"}`}},
		"unknown profile members": {lwatest.EndpointProfile, lwatest.Failure{
			Body: `{"user_id":"` + alice.UserID + `","email":"alice@example.com","name":"Alice Liddell","postal_code":"98052","primary_language":"en_US"}`}},
		"charset parameter":      {lwatest.EndpointTokenInfo, lwatest.Failure{Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}}}},
		"upper-case media type":  {lwatest.EndpointProfile, lwatest.Failure{Header: http.Header{"Content-Type": {"Application/JSON; charset=utf-8"}}}},
		"whitespace around JSON": {lwatest.EndpointTokenInfo, lwatest.Failure{Body: "\n  " + tokenInfoBody(alice.UserID, clientID, 3600) + " \r\n"}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			v := newVerifier(t, srv)
			srv.Fail(tc.ep, tc.f)
			requireVerified(t, v, srv.Issue(clientID, alice), alice)
		})
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	rt := &countingTransport{next: base}
	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(closedURL(t)),
		core.WithHTTPClient(&http.Client{Transport: rt}), core.WithLogger(discardLogger()))
	require.NoError(t, err)
	defer v.Close()
	tok := randomToken("Atza|")
	for i := range 3 {
		_, err := v.Verify(context.Background(), tok)
		e := requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
		assert.Empty(t, e.RequestID)
		assert.NotContains(t, err.Error(), "access_token", "the tokeninfo URL is not in the error")
		assert.NotContains(t, err.Error(), "tokeninfo?")
		assert.Equal(t, int32(i+1), rt.tokeninfo.Load(), "the failure was not cached: asked again")
	}
}

func TestAudience(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithClientID(clientID, deviceClientID))
	requireVerified(t, v, srv.Issue(clientID, alice), alice)
	requireVerified(t, v, srv.Issue(deviceClientID, alice), alice)

	_, err := v.Verify(context.Background(), srv.Issue(otherClientID, alice))
	e := requireRejection(t, err, 404, core.CodeNotFound, core.ErrNotOurToken)
	for _, s := range []string{otherClientID, clientID, deviceClientID, alice.UserID, "aud", "client"} {
		assert.NotContains(t, e.Description, s, "a 404 reveals nothing")
		assert.NotContains(t, string(e.Body()), s, "a 404 reveals nothing")
	}

	// Only the second configured ID.
	only := newVerifier(t, srv, core.WithClientID(deviceClientID))
	_, err = only.Verify(context.Background(), srv.Issue(clientID, alice))
	requireRejection(t, err, 404, core.CodeNotFound, core.ErrNotOurToken)

	// The audience must match exactly.
	for _, near := range []string{clientID + " ", strings.ToUpper(clientID), clientID[:len(clientID)-1], clientID + "," + deviceClientID} {
		_, err := v.Verify(context.Background(), srv.Issue(near, alice))
		requireRejection(t, err, 404, core.CodeNotFound, core.ErrNotOurToken)
	}
}

// TestSpecialCharacterTokens: tokens with characters that need escaping in a
// query string reach tokeninfo intact, and are never decoded by Verify.
func TestSpecialCharacterTokens(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	bob := core.Profile{UserID: "amzn1.account.BOB", Name: "Bob"}
	for i, tok := range []string{
		"Atza|a+b/c=d&e%f%7C-_",
		"Atza|+++",
		"Atza|a&access_token=Atza|b",
		"Atza|%2B%26%3D",
		"Atza|==",
		"Atza|a#b?c;d",
		`Atza|"'<>\^` + "`{}[]",
		"Atza|100%",
	} {
		srv.Issue(clientID, alice, lwatest.WithToken(tok))
		requireVerified(t, v, tok, alice)
		assert.Equal(t, i+1, srv.CallCount(lwatest.EndpointTokenInfo))
	}
	// "Atza|a%7Cb" is its own token, not "Atza|a|b".
	srv.Issue(clientID, alice, lwatest.WithToken("Atza|a%7Cb"))
	srv.Issue(clientID, bob, lwatest.WithToken("Atza|a|b"))
	requireVerified(t, v, "Atza|a%7Cb", alice)
	requireVerified(t, v, "Atza|a|b", bob)
}

func TestTLSServer(t *testing.T) {
	srv := lwatest.NewTLSServer()
	t.Cleanup(srv.Close)
	tok := srv.Issue(clientID, alice)

	trusting := newVerifier(t, srv, core.WithHTTPClient(srv.Client()))
	requireVerified(t, trusting, tok, alice)

	// The default client verifies certificates: the fake's is not trusted.
	strict := newVerifier(t, srv)
	_, err := strict.Verify(context.Background(), tok)
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
}

type countingTransport struct {
	n, tokeninfo atomic.Int32
	next         http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if r.URL.Path == lwatest.EndpointTokenInfo.Path() {
		c.tokeninfo.Add(1)
	}
	return c.next.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	srv := newServer(t)
	rt := &countingTransport{next: srv.Client().Transport}
	v := newVerifier(t, srv, core.WithHTTPClient(&http.Client{Transport: rt}))
	requireVerified(t, v, srv.Issue(clientID, alice), alice)
	assert.Equal(t, int32(2), rt.n.Load(), "both calls went through the given client")
}

// TestWithHTTPClientTimeoutStillApplies: a client without any timeout is
// still bounded by WithTimeout.
func TestWithHTTPClientTimeoutStillApplies(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithHTTPClient(srv.Client()), core.WithTimeout(150*time.Millisecond))
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Hang: true})
	_, err := v.Verify(context.Background(), tok)
	requireRejection(t, err, 504, core.CodeServerError, core.ErrUpstreamTimeout)
}

func TestUpstreamRequestIDIsSanitised(t *testing.T) {
	for name, tc := range map[string]struct {
		id, want string
	}{
		"uuid":       {"0b1c2d3e-aaaa-4bbb-8ccc-0123456789ab", "0b1c2d3e-aaaa-4bbb-8ccc-0123456789ab"},
		"odd chars":  {`abc"<script>`, ""},
		"too long":   {strings.Repeat("a", 200), ""},
		"with space": {"abc def", ""},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			v := newVerifier(t, srv)
			srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Header: http.Header{"x-amzn-RequestId": {tc.id}}})
			_, err := v.Verify(context.Background(), srv.Issue(clientID, alice))
			e := requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
			assert.Equal(t, tc.want, e.RequestID)
		})
	}
}
