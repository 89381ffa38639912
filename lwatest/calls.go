package lwatest

import (
	"net/http"
	"strings"
	"time"
)

// Call is the server's record of one request to an endpoint. It never holds
// the token itself.
type Call struct {
	// Endpoint is the endpoint that was called.
	Endpoint Endpoint

	// Start is when the server began handling the request, End when it
	// finished (the zero time while the request is still in progress).
	// Both come from the real clock, with its monotonic reading, not from
	// the clock moved by Advance: compare them with each other or with
	// time.Now to check that calls overlapped or were delayed.
	Start, End time.Time

	// Status is the HTTP status the server answered with, or 0 if it did
	// not answer: the request is in progress, or its client went away or
	// the server closed during a Delay or Hang.
	Status int

	// RequestID is the x-amzn-RequestId the answer carried.
	RequestID string

	// Method is the request's HTTP method.
	Method string

	// Host is the host the request was addressed to (its Host header):
	// the server's own 127.0.0.1:PORT, or the Amazon host a client from
	// [Server.AmazonClient] asked, such as "api.amazon.co.uk".
	Host string

	// Region is the Login with Amazon region whose host the request was
	// addressed to, "na", "eu" or "fe" (see package region), or "" when
	// it was addressed to the server's own address.
	Region string

	// TokenFrom lists the places where the request carried a token,
	// comma-separated, in this order: "query" (an access_token parameter),
	// "authorization" (an Authorization header, well-formed or not),
	// "x-amz-access-token" (that header). It is empty if the request used
	// none. It lets a test check, for instance, that a client sends the
	// profile call's token in a header rather than in the URL, without the
	// record holding the token. It is always empty for the Authorize and
	// Token endpoints.
	TokenFrom string

	// GrantType is the grant_type of a Token call ("authorization_code",
	// "refresh_token", "device_code", or whatever the client sent), once
	// the server has read the request's form; empty for the other
	// endpoints.
	GrantType string

	// ClientAuth is how a Token or CodePair call authenticated its client,
	// once the server has read the request: "basic" (HTTP Basic), "form"
	// (client_id and client_secret form fields), "none" (a public client:
	// client_id only) or "" (no client_id at all, as in Amazon's device
	// token request, or another endpoint). The credentials themselves are
	// never recorded.
	ClientAuth string
}

// CallCount returns the number of requests endpoint ep received since the
// server started or ResetCalls was last called, counting requests still in
// progress and requests answered with an error. It panics if ep is not a
// known Endpoint.
func (s *Server) CallCount(ep Endpoint) int {
	ep.check("CallCount")
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls[ep])
}

// Calls returns the requests endpoint ep received since the server started
// or ResetCalls was last called, in the order they arrived, including those
// still in progress (End is zero). It panics if ep is not a known Endpoint.
func (s *Server) Calls(ep Endpoint) []Call {
	ep.check("Calls")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls[ep]))
	for i, c := range s.calls[ep] {
		out[i] = *c
	}
	return out
}

// ResetCalls forgets all recorded calls of every endpoint: CallCount starts
// again from zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = [numEndpoints][]*Call{}
}

// startCall records the arrival of a request.
func (s *Server) startCall(ep Endpoint, r *http.Request, rid string) *Call {
	c := &Call{
		Endpoint:  ep,
		Start:     time.Now(),
		RequestID: rid,
		Method:    r.Method,
		Host:      r.Host,
	}
	if h, ok := hostRegion(r.Host); ok {
		c.Region = h.region
	}
	if ep == EndpointTokenInfo || ep == EndpointProfile {
		c.TokenFrom = tokenFrom(r)
	}
	s.mu.Lock()
	s.calls[ep] = append(s.calls[ep], c)
	s.mu.Unlock()
	return c
}

// endCall records the end of a request. After a ResetCalls the record is no
// longer listed; updating it is harmless.
func (s *Server) endCall(c *Call, status int, rid string) {
	end := time.Now()
	s.mu.Lock()
	c.End = end
	c.Status = status
	c.RequestID = rid
	s.mu.Unlock()
}

func tokenFrom(r *http.Request) string {
	var from []string
	if r.URL.Query().Has("access_token") {
		from = append(from, "query")
	}
	if len(r.Header.Values("Authorization")) > 0 {
		from = append(from, "authorization")
	}
	if len(r.Header.Values("X-Amz-Access-Token")) > 0 {
		from = append(from, "x-amz-access-token")
	}
	return strings.Join(from, ",")
}
