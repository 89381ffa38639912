package core

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// This file exposes the verifier's upstream decision to the fuzz tests of
// package core_test, without a network, a cache or coalescing.

// FakeAnswer is one canned upstream HTTP answer.
type FakeAnswer struct {
	Status      int
	ContentType string // "" sends no Content-Type header
	RequestID   string // "" sends no x-amzn-RequestId header
	Body        []byte
}

// FakeRequest is what the verifier asked one endpoint.
type FakeRequest struct {
	Path, RawQuery, Authorization string
}

// fakeUpstream answers the two endpoints with canned answers and records
// what it was asked.
type fakeUpstream struct {
	tokeninfo, profile FakeAnswer
	seen               chan FakeRequest
}

func (f *fakeUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	a := f.profile
	if req.URL.Path == "/auth/o2/tokeninfo" {
		a = f.tokeninfo
	}
	f.seen <- FakeRequest{Path: req.URL.Path, RawQuery: req.URL.RawQuery, Authorization: req.Header.Get("Authorization")}
	h := make(http.Header)
	if a.ContentType != "" {
		h.Set("Content-Type", a.ContentType)
	}
	if a.RequestID != "" {
		h.Set("x-amzn-RequestId", a.RequestID)
	}
	return &http.Response{
		Status:        http.StatusText(a.Status),
		StatusCode:    a.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(a.Body)),
		ContentLength: int64(len(a.Body)),
		Request:       req,
	}, nil
}

// Decide runs the real verification of token (both upstream calls, the
// reading of the answers through the size limit, the Content-Type and UTF-8
// checks, the decoding and the audience, user and scope checks) against the
// canned answers ti (tokeninfo) and pr (profile). It returns the verified
// profile and how long it would be cached, or the rejection, and the
// requests the verifier made (in no particular order). opts must not set the
// endpoint or the HTTP client.
func Decide(opts []Option, token string, ti, pr FakeAnswer) (Profile, time.Duration, []FakeRequest, error) {
	up := &fakeUpstream{tokeninfo: ti, profile: pr, seen: make(chan FakeRequest, 2)}
	opts = append(opts[:len(opts):len(opts)],
		WithEndpoint("http://lwa.invalid"),
		WithHTTPClient(&http.Client{Transport: up}),
	)
	v, err := NewVerifier(opts...)
	if err != nil {
		return Profile{}, 0, nil, err
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.timeout)
	defer cancel()
	fa, rerr := v.ask(ctx, token)
	close(up.seen)
	var seen []FakeRequest
	for r := range up.seen {
		seen = append(seen, r)
	}
	if rerr != nil {
		return Profile{}, 0, seen, rerr
	}
	e, derr := v.decide(fa)
	if derr != nil {
		return Profile{}, 0, seen, derr
	}
	return e.profile, e.ttl, seen, nil
}
