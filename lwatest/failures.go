package lwatest

import (
	"fmt"
	"net/http"
	"time"
)

// Endpoint names one of the LWA endpoints the server answers: the two a
// resource server calls to verify a token, the two of the authorization
// code grant (see [Server.RegisterApp]) and the two that code-based linking
// adds (see [Server.CodePairURL]).
type Endpoint int

const (
	// EndpointTokenInfo is GET /auth/o2/tokeninfo.
	EndpointTokenInfo Endpoint = iota
	// EndpointProfile is GET /user/profile.
	EndpointProfile
	// EndpointAuthorize is /ap/oa: the authorization request (GET) and the
	// customer's answer on the consent page (POST).
	EndpointAuthorize
	// EndpointToken is POST /auth/o2/token: codes, device codes and refresh
	// tokens exchanged for access tokens.
	EndpointToken
	// EndpointCodePair is POST /auth/o2/create/codepair: a device asks for
	// a user code and a device code (code-based linking).
	EndpointCodePair
	// EndpointCodeEntry is /code: the page where the customer enters a
	// device's user code and allows or denies it (GET shows the form, POST
	// submits it); the code pair's verification_uri.
	EndpointCodeEntry

	numEndpoints = 6
)

const (
	tokenInfoPath = "/auth/o2/tokeninfo"
	profilePath   = "/user/profile"
	authorizePath = "/ap/oa"
	tokenPath     = "/auth/o2/token"
	codePairPath  = "/auth/o2/create/codepair"
	codeEntryPath = "/code"
)

// String returns "tokeninfo", "profile", "authorize", "token", "codepair"
// or "code-entry".
func (e Endpoint) String() string {
	switch e {
	case EndpointTokenInfo:
		return "tokeninfo"
	case EndpointProfile:
		return "profile"
	case EndpointAuthorize:
		return "authorize"
	case EndpointToken:
		return "token"
	case EndpointCodePair:
		return "codepair"
	case EndpointCodeEntry:
		return "code-entry"
	}
	return fmt.Sprintf("Endpoint(%d)", int(e))
}

// Path returns the endpoint's URL path: "/auth/o2/tokeninfo",
// "/user/profile", "/ap/oa", "/auth/o2/token", "/auth/o2/create/codepair"
// or "/code".
func (e Endpoint) Path() string {
	switch e {
	case EndpointTokenInfo:
		return tokenInfoPath
	case EndpointProfile:
		return profilePath
	case EndpointAuthorize:
		return authorizePath
	case EndpointToken:
		return tokenPath
	case EndpointCodePair:
		return codePairPath
	case EndpointCodeEntry:
		return codeEntryPath
	}
	return ""
}

func (e Endpoint) check(fn string) {
	if e < 0 || e >= numEndpoints {
		panic(fmt.Sprintf("lwatest: %s: unknown endpoint %v", fn, e))
	}
}

// Failure describes how an endpoint misbehaves, for [Server.Fail]. The zero
// Failure changes nothing. Fields combine: Delay then Status and Body, for
// example, is a slow error.
type Failure struct {
	// Status is the HTTP status to answer with; 0 means the normal answer.
	// With no Body, the body is an LWA-style JSON error for that status
	// ("invalid_request" for 400, "insufficient_scope" for 401,
	// "ServerError" for 5xx, otherwise derived from the status text), with
	// a "request_id".
	Status int

	// Body, if not empty, is sent verbatim instead of the normal body, with
	// Status (200 if Status is 0). Use it for malformed or unexpected
	// answers.
	Body string

	// ContentType is the Content-Type sent with Body. Empty means
	// "application/json". It is ignored when Body is empty.
	ContentType string

	// Header holds extra response headers (Retry-After, for example). They
	// are set last, so they replace the server's own headers of the same
	// name (Content-Type, x-amzn-RequestId); a name mapped to an empty
	// slice removes that header. Header applies to normal answers too.
	Header http.Header

	// Delay is how long to wait before answering. The wait ends early, with
	// no answer, if the client goes away or the server is closed.
	Delay time.Duration

	// Hang makes the server never answer: the request blocks until the
	// client goes away (for instance its context is cancelled) or the
	// server is closed.
	Hang bool

	// Times limits the failure to the next Times calls of the endpoint.
	// 0 means every call until Recover.
	Times int
}

// failState is the injected behaviour of one endpoint.
type failState struct {
	queue  []Failure // failures with Times > 0, in the order given
	sticky *Failure  // the Times == 0 failure, if any
}

// Fail makes endpoint ep misbehave as f describes.
//
// A failure with Times == 0 lasts until Recover and replaces the previous
// such failure of ep. Failures with Times > 0 queue up in the order given and
// take precedence: each call uses the first queued failure, which leaves the
// queue after Times calls; when the queue is empty, calls use the lasting
// failure if there is one, or answer normally. So
//
//	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 503, Times: 2})
//	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true, Times: 1})
//
// answers the next two tokeninfo calls with 503, hangs the third, and answers
// the rest normally.
//
// Fail panics if ep is not a known Endpoint, f.Times or f.Delay is negative,
// or f.Status is neither 0 nor in the range 200 to 999.
func (s *Server) Fail(ep Endpoint, f Failure) {
	ep.check("Fail")
	switch {
	case f.Times < 0:
		panic(fmt.Sprintf("lwatest: Fail: negative Times %d", f.Times))
	case f.Delay < 0:
		panic(fmt.Sprintf("lwatest: Fail: negative Delay %v", f.Delay))
	case f.Status != 0 && (f.Status < 200 || f.Status > 999):
		panic(fmt.Sprintf("lwatest: Fail: invalid Status %d", f.Status))
	}
	f.Header = f.Header.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.failures[ep]
	if f.Times == 0 {
		st.sticky = &f
		return
	}
	st.queue = append(st.queue, f)
}

// Recover clears every failure injected with Fail and every delay set with
// SetDelay, on every endpoint. Requests already delayed or hanging are not
// released; they end when their client goes away or the server is closed.
func (s *Server) Recover() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = [numEndpoints]failState{}
	s.delays = [numEndpoints]time.Duration{}
}

// SetDelay adds a fixed latency d to every answer of endpoint ep, including
// failures injected with Fail (their Delay adds to it), until Recover or
// another SetDelay. It suits benchmarks of a verifier's cold path. The wait
// ends early, with no answer, if the client goes away or the server is
// closed. SetDelay(ep, 0) removes the latency. SetDelay panics if ep is not
// a known Endpoint or d is negative.
func (s *Server) SetDelay(ep Endpoint, d time.Duration) {
	ep.check("SetDelay")
	if d < 0 {
		panic(fmt.Sprintf("lwatest: SetDelay: negative delay %v", d))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[ep] = d
}

// takeFailure returns the failure that applies to the call of ep that is
// starting now, consuming one use of a counted failure, and ep's fixed delay.
func (s *Server) takeFailure(ep Endpoint) (f Failure, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delay = s.delays[ep]
	st := &s.failures[ep]
	switch {
	case len(st.queue) > 0:
		f = st.queue[0]
		st.queue[0].Times--
		if st.queue[0].Times == 0 {
			st.queue = st.queue[1:]
		}
	case st.sticky != nil:
		f = *st.sticky
	}
	return f, delay
}

// wait blocks for d (for ever if hang), or until the request is cancelled or
// the server closes, in which case it reports false: the caller must not
// answer.
func (s *Server) wait(r *http.Request, d time.Duration, hang bool) bool {
	if !hang && d <= 0 {
		return true
	}
	var timeout <-chan time.Time
	if !hang {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

// writeFailure answers with f's Status and Body.
func writeFailure(w http.ResponseWriter, f Failure, rid string) {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body == "" {
		code, desc := defaultError(status)
		writeError(w, status, code, desc, rid)
		return
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	setHeader(w.Header(), "Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body))
}

// defaultError is the JSON error an injected Status answers with when the
// Failure has no Body.
func defaultError(status int) (code, desc string) {
	switch {
	case status == http.StatusBadRequest:
		return "invalid_request", "The request is missing a required parameter or otherwise malformed."
	case status == http.StatusUnauthorized:
		return "insufficient_scope", "The access token provided does not have access to the required scope."
	case status >= 500:
		return "ServerError", "The server encountered a runtime error."
	}
	text := http.StatusText(status)
	if text == "" {
		text = fmt.Sprintf("status %d", status)
	}
	code = ""
	for _, r := range text {
		switch {
		case r >= 'A' && r <= 'Z':
			code += string(r + 'a' - 'A')
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			code += string(r)
		default:
			code += "_"
		}
	}
	return code, text + "."
}
