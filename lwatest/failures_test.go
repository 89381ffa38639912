package lwatest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-lwa/lwa/lwatest"
)

func TestFailStatus(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})

	for range 2 { // lasts until Recover
		requireLWAError(t, tokenInfo(t, srv, tok), http.StatusInternalServerError,
			"ServerError", "The server encountered a runtime error.")
	}
	equal(t, profileBearer(t, srv, tok).Status, http.StatusOK, "the other endpoint is unaffected")

	srv.Recover()
	equal(t, tokenInfo(t, srv, tok).Status, http.StatusOK, "after Recover")
}

func TestFailStatusDefaultBodies(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	for status, code := range map[int]string{
		http.StatusBadRequest:         "invalid_request",
		http.StatusUnauthorized:       "insufficient_scope",
		http.StatusNotFound:           "not_found",
		http.StatusTooManyRequests:    "too_many_requests",
		http.StatusServiceUnavailable: "ServerError",
		http.StatusOK:                 "ok",
	} {
		srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Status: status, Times: 1})
		requireLWAError(t, profileBearer(t, srv, tok), status, code, "")
	}
}

func TestFailBody(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)

	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Status: http.StatusBadGateway, Body: "<html>oops</html>", ContentType: "text/html"})
	a := profileBearer(t, srv, tok)
	equal(t, a.Status, http.StatusBadGateway)
	equal(t, a.Body, "<html>oops</html>")
	equal(t, a.Header.Get("Content-Type"), "text/html")
	matches(t, a.Header.Get("x-amzn-RequestId"), requestIDRE.String())

	// Body alone: 200, application/json.
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: `{"user_id":"amzn1.account.SOMEONEELSE"}`})
	a = profileBearer(t, srv, tok)
	equal(t, a.Status, http.StatusOK)
	equal(t, a.Body, `{"user_id":"amzn1.account.SOMEONEELSE"}`)
	equal(t, a.Header.Get("Content-Type"), "application/json")
	equal(t, lastCall(t, srv, lwatest.EndpointProfile).Status, http.StatusOK, "recorded status")

	// Body on an unknown token: the injected answer wins.
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Body: "not json", ContentType: "text/plain; charset=utf-8"})
	a = tokenInfo(t, srv, "Atza|never-issued")
	equal(t, a.Status, http.StatusOK)
	equal(t, a.Body, "not json")
	equal(t, a.Header.Get("Content-Type"), "text/plain; charset=utf-8")
}

func TestFailHeader(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{
		Status: http.StatusServiceUnavailable,
		Header: http.Header{"Retry-After": {"7"}},
		Times:  1,
	})
	a := tokenInfo(t, srv, tok)
	equal(t, a.Status, http.StatusServiceUnavailable)
	equal(t, a.Header.Get("Retry-After"), "7")

	// Header alone decorates the normal answer.
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Header: http.Header{"X-Extra": {"1", "2"}}, Times: 1})
	a = tokenInfo(t, srv, tok)
	mustEqual(t, a.Status, http.StatusOK, a.Body)
	deepEqual(t, a.Header.Values("X-Extra"), []string{"1", "2"})
	equal[any](t, a.JSON(t)["aud"], clientID)
	matches(t, a.Header.Get("x-amzn-RequestId"), requestIDRE.String())

	// Header replaces the server's own headers, whatever their spelling.
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Header: http.Header{"Content-Type": {"text/plain"}}, Times: 1})
	equal(t, tokenInfo(t, srv, tok).Header.Get("Content-Type"), "text/plain")

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Header: http.Header{"X-Amzn-Requestid": nil}, Times: 1})
	a = tokenInfo(t, srv, tok)
	equal(t, a.Status, http.StatusOK)
	equal(t, len(a.Header.Values("x-amzn-RequestId")), 0, "request ID header removed")

	// Fail keeps its own copy of the header.
	h := http.Header{"Retry-After": {"1"}}
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusTooManyRequests, Header: h, Times: 1})
	h.Set("Retry-After", "999")
	equal(t, tokenInfo(t, srv, tok).Header.Get("Retry-After"), "1", "header copied by Fail")

	equal(t, tokenInfo(t, srv, tok).Header.Get("Retry-After"), "", "headers end with their failure")
}

func TestFailTimes(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	statuses := func(n int) []int {
		t.Helper()
		var got []int
		for range n {
			got = append(got, tokenInfo(t, srv, tok).Status)
		}
		return got
	}

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 503, Times: 2})
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
	deepEqual(t, statuses(5), []int{503, 503, 500, 200, 200}, "counted failures queue up")

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 429, Times: 1})
	deepEqual(t, statuses(3), []int{429, 500, 500}, "counted failures come before the lasting one")

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 502})
	deepEqual(t, statuses(2), []int{502, 502}, "a lasting failure replaces the previous one")

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 504, Times: 3})
	srv.Recover()
	deepEqual(t, statuses(2), []int{200, 200}, "Recover clears everything")

	equal(t, profileBearer(t, srv, tok).Status, http.StatusOK, "profile never failed")
}

func TestFailValidation(t *testing.T) {
	srv := newServer(t)
	panics(t, func() { srv.Fail(lwatest.Endpoint(6), lwatest.Failure{}) }, "unknown endpoint")
	panics(t, func() { srv.Fail(lwatest.Endpoint(-1), lwatest.Failure{}) }, "negative endpoint")
	panics(t, func() { srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Times: -1}) }, "negative Times")
	panics(t, func() { srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Delay: -1}) }, "negative Delay")
	panics(t, func() { srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 99}) }, "Status 99")
	panics(t, func() { srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 1000}) }, "Status 1000")
	panics(t, func() { srv.SetDelay(lwatest.Endpoint(6), time.Second) }, "SetDelay unknown endpoint")
	panics(t, func() { srv.SetDelay(lwatest.EndpointTokenInfo, -time.Second) }, "SetDelay negative")
}

func TestFailDelay(t *testing.T) {
	const d = 300 * time.Millisecond
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Delay: d, Times: 1})

	start := time.Now()
	a := tokenInfo(t, srv, tok)
	elapsed := time.Since(start)
	mustEqual(t, a.Status, http.StatusOK, "a delay alone keeps the normal answer")
	check(t, elapsed >= d, "client waited %v, want >= %v", elapsed, d)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointTokenInfo)) >= d, "server-side duration below the delay")

	tokenInfo(t, srv, tok)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointTokenInfo)) < d, "Times: 1 delayed a second call")

	// Delay then an error status.
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Delay: d, Status: http.StatusInternalServerError, Times: 1})
	equal(t, profileBearer(t, srv, tok).Status, http.StatusInternalServerError)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointProfile)) >= d, "slow error not delayed")
}

func TestSetDelay(t *testing.T) {
	const d = 200 * time.Millisecond
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	srv.SetDelay(lwatest.EndpointProfile, d)

	for range 2 {
		equal(t, profileBearer(t, srv, tok).Status, http.StatusOK)
		check(t, duration(t, lastCall(t, srv, lwatest.EndpointProfile)) >= d, "profile not delayed")
	}
	tokenInfo(t, srv, tok)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointTokenInfo)) < d, "tokeninfo delayed")

	// SetDelay and a Failure's Delay add up.
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Delay: d, Times: 1})
	profileBearer(t, srv, tok)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointProfile)) >= 2*d, "delays do not add up")

	srv.Recover()
	profileBearer(t, srv, tok)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointProfile)) < d, "Recover kept the delay")

	srv.SetDelay(lwatest.EndpointTokenInfo, d)
	srv.SetDelay(lwatest.EndpointTokenInfo, 0)
	tokenInfo(t, srv, tok)
	check(t, duration(t, lastCall(t, srv, lwatest.EndpointTokenInfo)) < d, "SetDelay(ep, 0) kept the delay")
}

// startRequest sends a GET in the background; the answer's status (or the
// error) arrives on the returned channel.
func startRequest(ctx context.Context, srv *lwatest.Server, path string, header http.Header) <-chan error {
	done := make(chan error, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		done <- err
		return done
	}
	for k, v := range header {
		req.Header[k] = v
	}
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered with " + resp.Status)
		}
		done <- err
	}()
	return done
}

func TestDelayReleasedByClientCancellation(t *testing.T) {
	srv := newServer(t)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := <-startRequest(ctx, srv, "/auth/o2/tokeninfo?access_token=x", nil)
	check(t, errors.Is(err, context.DeadlineExceeded), "client error %v", err)
	eventually(t, func() bool { return !lastCall(t, srv, lwatest.EndpointTokenInfo).End.IsZero() }, "delayed handler never returned")
	equal(t, lastCall(t, srv, lwatest.EndpointTokenInfo).Status, 0, "no answer recorded")
}

func TestHangReleasedByClientCancellation(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Hang: true, Times: 1})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRequest(ctx, srv, "/user/profile", http.Header{"Authorization": {"Bearer " + tok}})
	eventually(t, func() bool { return srv.CallCount(lwatest.EndpointProfile) == 1 }, "request never arrived")

	select {
	case err := <-done:
		t.Fatalf("hanging request ended: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	c := lastCall(t, srv, lwatest.EndpointProfile)
	check(t, c.End.IsZero() && c.Status == 0, "in-progress call recorded as %+v", c)

	cancel()
	err := <-done
	check(t, errors.Is(err, context.Canceled), "client error %v", err)
	eventually(t, func() bool { return !lastCall(t, srv, lwatest.EndpointProfile).End.IsZero() }, "hanging handler never returned")
	equal(t, lastCall(t, srv, lwatest.EndpointProfile).Status, 0, "no answer recorded")

	equal(t, profileBearer(t, srv, tok).Status, http.StatusOK, "Times: 1 hung a second call")
}

func TestHangAndDelayReleasedByClose(t *testing.T) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Hang: true})
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Delay: time.Hour})
	srv.SetDelay(lwatest.EndpointTokenInfo, time.Hour)

	ctx := context.Background() // the client never gives up by itself
	hung := startRequest(ctx, srv, "/user/profile", http.Header{"Authorization": {"Bearer " + tok}})
	delayed := startRequest(ctx, srv, "/auth/o2/tokeninfo?access_token=x", nil)
	eventually(t, func() bool {
		return srv.CallCount(lwatest.EndpointProfile) == 1 && srv.CallCount(lwatest.EndpointTokenInfo) == 1
	}, "requests never arrived")

	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a hanging handler")
	}
	check(t, <-hung != nil, "hanging request got an answer")
	check(t, <-delayed != nil, "delayed request got an answer")
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointProfile, lwatest.EndpointTokenInfo} {
		c := lastCall(t, srv, ep)
		check(t, !c.End.IsZero() && c.Status == 0, "%s call after Close: %+v", ep, c)
	}
}
