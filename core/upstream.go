package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-lwa/lwa/core/observe"
)

// userAgent identifies the library to Amazon.
const userAgent = "go-lwa (+https://github.com/go-lwa/lwa)"

// answer is one upstream call's outcome: a decoded body, or a *Error.
type answer struct {
	status    int // 0 when no answer arrived
	body      []byte
	requestID string
	err       *Error
}

// newDefaultClient returns the keep-alive client used when WithHTTPClient is
// not given. It never follows redirects: Amazon's API does not redirect, and
// a redirect must not carry a token elsewhere.
func newDefaultClient(maxConns int) (*http.Client, *http.Transport) {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * maxConns,
		MaxIdleConnsPerHost:   2 * maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, t
}

// The two upstream endpoints, as the Observer and errors name them.
const (
	endpointTokenInfo = "tokeninfo"
	endpointProfile   = "profile"
)

// noRedirects returns a shallow copy of the user's client that never
// follows a redirect (a redirect must not carry a token elsewhere). The
// user's client itself is never modified.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// call makes one upstream call, reported to the Observer.
func (v *Verifier) call(ctx context.Context, endpoint, rawURL, token string) answer {
	if v.obs == nil {
		return v.get(ctx, endpoint, rawURL, token)
	}
	c := observe.UpstreamCall{Endpoint: endpoint, Method: http.MethodGet, URL: redactURL(rawURL)}
	if u, err := url.Parse(c.URL); err == nil {
		c.ServerAddress = u.Hostname()
		c.ServerPort, _ = strconv.Atoi(u.Port())
		if c.ServerPort == 0 {
			c.ServerPort = 443
			if u.Scheme == "http" {
				c.ServerPort = 80
			}
		}
	}
	start := time.Now()
	ctx = v.obs.UpstreamStart(ctx, c)
	a := v.get(ctx, endpoint, rawURL, token)
	ev := observe.UpstreamEvent{UpstreamCall: c, StatusCode: a.status, Duration: time.Since(start)}
	if a.err != nil && !cacheable(a.err) {
		ev.ErrorType = a.errorType()
		if errors.Is(ctx.Err(), context.Canceled) {
			ev.ErrorType = "canceled" // the verifier cancelled it: tokeninfo had decided
		}
	}
	v.obs.UpstreamEnd(ctx, ev)
	return a
}

// redactURL replaces the access_token query value of an upstream URL.
func redactURL(raw string) string {
	base, q, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if k, _, _ := strings.Cut(p, "="); k == QueryAccessToken {
			parts[i] = QueryAccessToken + "=REDACTED"
		}
	}
	return base + "?" + strings.Join(parts, "&")
}

// errorType classifies a failed call for the Observer: "timeout",
// "transport", or the HTTP status it answered.
func (a answer) errorType() string {
	switch {
	case a.err.kind == ErrUpstreamTimeout:
		return "timeout"
	case a.status == 0:
		return "transport"
	default:
		return strconv.Itoa(a.status)
	}
}

// get makes one upstream call and returns its body when Amazon answered 200
// with JSON, or the rejection its answer means. token is only used to build
// the request and to scrub errors.
func (v *Verifier) get(ctx context.Context, endpoint, rawURL, token string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{err: newError(ErrUpstream, "could not build the upstream request", errors.New("invalid upstream URL"))}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", "en-US")
	req.Header.Set("User-Agent", userAgent)
	if endpoint == endpointProfile {
		req.Header.Set("Authorization", "bearer "+token)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return answer{err: v.transportError(ctx, endpoint, err, token)}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, requestID: cleanRequestID(resp.Header.Get("x-amzn-RequestId"))}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	switch {
	case err != nil:
		a.err = v.transportError(ctx, endpoint, err, token)
	case len(body) > maxUpstreamBody:
		a.err = badAnswer(endpoint, resp.StatusCode, "answer larger than 64 KiB")
	case !isJSON(resp.Header.Get("Content-Type")):
		a.err = badAnswer(endpoint, resp.StatusCode, "answer is not application/json")
	case !utf8.Valid(body):
		a.err = badAnswer(endpoint, resp.StatusCode, "answer is not valid UTF-8")
	case resp.StatusCode == http.StatusOK:
		a.body = body
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		a.err = rejectionOf(endpoint, resp.StatusCode, body)
	default:
		a.err = badAnswer(endpoint, resp.StatusCode, "unexpected status")
	}
	if a.err != nil {
		a.err = a.err.withRequestID(a.requestID)
	}
	return a
}

// rejectionOf maps Amazon's documented error answers, and only those:
// tokeninfo answers 400 invalid_token (or invalid_request) for a token that
// is expired, revoked, malformed or unknown; profile answers the same with
// 400, and 401 insufficient_scope (or invalid_token) for a missing scope.
// Anything else (tokeninfo answering 401, an unknown code, a body that is not
// the documented JSON) is an upstream failure: a 502, never remembered.
func rejectionOf(endpoint string, status int, body []byte) *Error {
	var code *string
	if decodeFlat(body, map[string]any{"error": &code}) != nil || code == nil {
		return badAnswer(endpoint, status, "error answer is not the documented JSON")
	}
	invalid := *code == CodeInvalidToken || *code == CodeInvalidRequest
	switch {
	case status == http.StatusBadRequest && invalid:
		return newError(ErrInvalidToken, "the access token is expired, revoked, malformed or unknown", nil)
	case endpoint == endpointProfile && status == http.StatusUnauthorized && *code == CodeInsufficientScope:
		return newError(ErrInsufficientScope, "the access token does not grant the scope this app requires", nil)
	case endpoint == endpointProfile && status == http.StatusUnauthorized && *code == CodeInvalidToken:
		return newError(ErrInvalidToken, "the access token is expired, revoked, malformed or unknown", nil)
	}
	return badAnswer(endpoint, status, "error answer is not one Amazon documents")
}

// badAnswer is a 502 for an answer that is not Amazon's documented one.
func badAnswer(endpoint string, status int, what string) *Error {
	return newError(ErrUpstream, "Login with Amazon gave an unexpected answer",
		fmt.Errorf("%s: HTTP %d: %s", endpoint, status, what))
}

// transportError turns a failed call into a 502 or, when the verification
// ran out of time, a 504. The cause never carries the URL (which holds the
// token in its query) nor the token.
func (v *Verifier) transportError(ctx context.Context, endpoint string, err error, token string) *Error {
	if ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
		return newError(ErrUpstreamTimeout, "Login with Amazon did not answer in time",
			fmt.Errorf("%s: %w", endpoint, context.DeadlineExceeded))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if token != "" && (strings.Contains(msg, token) || strings.Contains(msg, url.QueryEscape(token))) {
		msg = "request failed"
	}
	return newError(ErrUpstream, "Login with Amazon could not be reached",
		fmt.Errorf("%s: %s", endpoint, msg))
}

// isJSON reports whether a Content-Type is application/json (parameters
// such as charset allowed).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// decodeFlat decodes one flat JSON object strictly, where encoding/json is
// lenient: member names match exactly (encoding/json also accepts "AUD" for
// "aud"), a known member given twice is an error (encoding/json keeps the
// last), wrong types and trailing data are errors. Members not in fields are
// skipped, as Amazon may add some. Each target is a **string or **int64, left
// nil when its member is absent or null. A member that differs from a known
// one only in case is an error: the answer is ambiguous, not Amazon's.
func decodeFlat(body []byte, fields map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("answer is not a JSON object")
	}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		target, known := fields[name]
		if !known {
			for f := range fields {
				if strings.EqualFold(f, name) {
					return fmt.Errorf("member %q is ambiguous with %q", name, f)
				}
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if seen[name] {
			return fmt.Errorf("member %q appears twice", name)
		}
		seen[name] = true
		if err := dec.Decode(target); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// cleanRequestID keeps Amazon's request id only when it looks like one, so
// that nothing odd (or long) is reflected to clients.
func cleanRequestID(id string) string {
	if id == "" || len(id) > 128 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return ""
		}
	}
	return id
}
