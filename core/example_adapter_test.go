package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// minimal is a stand-in for a web framework lwa has no adapter for: its
// request has a method and headers; its answer is a status, headers and a
// body; its handlers get a context.Context.
type minimal struct {
	method  string
	header  http.Header
	status  int
	answer  http.Header
	body    string
	handler func(ctx context.Context) string
}

// protect is the whole adapter for minimal: read the Request (the
// documented sources and the Verifier's own custom headers), let
// Authenticate decide, then write the rejection as every adapter does
// (SetHeaders, StatusCode, Body) or call the handler with the context that
// carries the credentials. A framework with a string-keyed store would
// also keep that context under core.ContextKey.
func protect(v *core.Verifier, pol core.Policy, m *minimal) {
	req := core.Request{
		Method:         m.method,
		Authorization:  m.header.Values(core.HeaderAuthorization),
		AmzAccessToken: m.header.Values(core.HeaderAmzAccessToken),
	}
	if m.method == http.MethodOptions {
		req.AccessControlRequestMethod = m.header.Get("Access-Control-Request-Method")
	}
	for _, name := range v.TokenHeaders() {
		req.Header = append(req.Header, m.header.Values(name)...)
	}
	ctx, _, err := v.Authenticate(context.Background(), &req, pol)
	if err != nil {
		e := core.AsError(err)
		if errors.Is(e, core.ErrPreflight) { // a bare 204, nothing else runs
			m.status = http.StatusNoContent
			return
		}
		e.SetHeaders(m.answer.Set)
		m.answer.Set("Content-Type", "application/json")
		m.status, m.body = e.StatusCode(), string(e.Body())
		return
	}
	m.status, m.body = http.StatusOK, m.handler(ctx)
}

// An adapter for another framework, built on core's small adapter kit:
// Request, Verifier.Authenticate, Policy, and Error's StatusCode,
// SetHeaders and Body.
func Example_adapter() {
	srv := lwatest.NewServer()
	defer srv.Close()
	const clientID = "amzn1.application-oa2-client.example"
	tok := srv.Issue(clientID, core.Profile{UserID: "amzn1.account.EXAMPLE", Name: "Alice"})
	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL), core.WithTokenHeader("X-Api-Token"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	hello := func(ctx context.Context) string {
		p, _ := core.FromContext(ctx)
		return "hello " + p.Name
	}
	for _, h := range []http.Header{
		{"Authorization": {"Bearer " + tok}},
		{"X-Api-Token": {tok}},
		{},
		{"Authorization": {"Bearer " + tok}, "X-Api-Token": {"Atza|another"}},
	} {
		m := &minimal{method: http.MethodGet, header: h, answer: http.Header{}, handler: hello}
		protect(v, core.Policy{}, m)
		fmt.Println(strings.TrimSpace(fmt.Sprint(m.status, " ", strings.SplitN(m.body, ",", 2)[0], " ", m.answer.Get("Cache-Control"))))
	}
	// Output:
	// 200 hello Alice
	// 200 hello Alice
	// 400 {"error":"invalid_request" no-store
	// 400 {"error":"invalid_request" no-store
}
