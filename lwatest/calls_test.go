package lwatest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func TestCallsRecord(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	before := time.Now()

	a1 := tokenInfo(t, srv, tok)
	a2 := tokenInfo(t, srv, "Atza|never-issued")
	a3 := profileBearer(t, srv, tok)

	equal(t, srv.CallCount(lwatest.EndpointTokenInfo), 2, "tokeninfo count")
	equal(t, srv.CallCount(lwatest.EndpointProfile), 1, "profile count")

	ti := srv.Calls(lwatest.EndpointTokenInfo)
	mustEqual(t, len(ti), 2)
	for i, want := range []struct {
		status int
		rid    string
	}{{200, a1.Header.Get("x-amzn-RequestId")}, {400, a2.Header.Get("x-amzn-RequestId")}} {
		c := ti[i]
		equal(t, c.Endpoint, lwatest.EndpointTokenInfo)
		equal(t, c.Status, want.status, "call %d status", i)
		equal(t, c.RequestID, want.rid, "call %d request ID", i)
		equal(t, c.Method, http.MethodGet)
		equal(t, c.TokenFrom, "query")
		check(t, !c.Start.Before(before) && !c.End.Before(c.Start) && !time.Now().Before(c.End),
			"call %d times %v..%v", i, c.Start, c.End)
	}
	check(t, !ti[1].Start.Before(ti[0].End), "calls out of order")

	pr := srv.Calls(lwatest.EndpointProfile)
	mustEqual(t, len(pr), 1)
	equal(t, pr[0].Endpoint, lwatest.EndpointProfile)
	equal(t, pr[0].Status, http.StatusOK)
	equal(t, pr[0].RequestID, a3.Header.Get("x-amzn-RequestId"))
	equal(t, pr[0].TokenFrom, "authorization")

	// Calls returns a copy.
	ti[0].Status = 999
	equal(t, srv.Calls(lwatest.EndpointTokenInfo)[0].Status, http.StatusOK, "Calls shares its slice")

	srv.ResetCalls()
	equal(t, srv.CallCount(lwatest.EndpointTokenInfo), 0, "tokeninfo count after reset")
	equal(t, srv.CallCount(lwatest.EndpointProfile), 0, "profile count after reset")
	equal(t, len(srv.Calls(lwatest.EndpointTokenInfo)), 0, "calls after reset")

	tokenInfo(t, srv, tok)
	equal(t, srv.CallCount(lwatest.EndpointTokenInfo), 1, "count restarts from zero")

	panics(t, func() { srv.CallCount(lwatest.Endpoint(9)) })
	panics(t, func() { srv.Calls(lwatest.Endpoint(9)) })
}

func TestCallsNeverHoldTokens(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	special := srv.Issue(clientID, alice, lwatest.WithToken("Atza|secret+/=&%"))
	tokenInfo(t, srv, tok)
	profileBearer(t, srv, tok)
	do(t, srv, http.MethodGet, "/user/profile?access_token="+url.QueryEscape(special), nil)
	do(t, srv, http.MethodGet, "/user/profile", http.Header{"X-Amz-Access-Token": {special}})

	dump := fmt.Sprintf("%+v %#v", srv.Calls(lwatest.EndpointTokenInfo), srv.Calls(lwatest.EndpointProfile))
	for _, secret := range []string{tok[5:], url.QueryEscape(tok), "secret"} {
		check(t, !strings.Contains(dump, secret), "a call record holds a token: %s", dump)
	}
}

func TestCallsOverlap(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	overlap := func(a, b lwatest.Call) bool { return a.Start.Before(b.End) && b.Start.Before(a.End) }

	// One after the other: no overlap.
	tokenInfo(t, srv, tok)
	profileBearer(t, srv, tok)
	check(t, !overlap(lastCall(t, srv, lwatest.EndpointTokenInfo), lastCall(t, srv, lwatest.EndpointProfile)), "sequential calls overlap")

	// Both at once, each held for a while: they overlap.
	srv.SetDelay(lwatest.EndpointTokenInfo, 100*time.Millisecond)
	srv.SetDelay(lwatest.EndpointProfile, 100*time.Millisecond)
	var wg sync.WaitGroup
	var tiStatus, prStatus int
	var tiErr, prErr error
	wg.Go(func() { tiStatus, tiErr = statusOf(srv, "/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil) })
	wg.Go(func() {
		prStatus, prErr = statusOf(srv, "/user/profile", http.Header{"Authorization": {"bearer " + tok}})
	})
	wg.Wait()
	noErr(t, tiErr)
	noErr(t, prErr)
	mustEqual(t, tiStatus, http.StatusOK, "tokeninfo")
	mustEqual(t, prStatus, http.StatusOK, "profile")
	check(t, overlap(lastCall(t, srv, lwatest.EndpointTokenInfo), lastCall(t, srv, lwatest.EndpointProfile)), "parallel calls do not overlap")
}

func TestConcurrentRequests(t *testing.T) {
	const n = 200
	srv := newServer(t)
	shared := srv.Issue(clientID, alice)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		rids = map[string]int{}
		bad  []string
	)
	for i := range n {
		wg.Go(func() {
			// Each goroutine also issues and revokes a token of its own.
			own := srv.Issue(clientID, core.Profile{Name: fmt.Sprint(i)})
			defer srv.Revoke(own)
			var req *http.Request
			if i%2 == 0 {
				req, _ = http.NewRequest(http.MethodGet, srv.URL+"/auth/o2/tokeninfo?access_token="+url.QueryEscape(shared), nil)
			} else {
				req, _ = http.NewRequest(http.MethodGet, srv.URL+"/user/profile", nil)
				req.Header.Set("Authorization", "Bearer "+own)
			}
			resp, err := srv.Client().Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = append(bad, err.Error())
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				bad = append(bad, resp.Status)
			}
			rids[resp.Header.Get("x-amzn-RequestId")]++
		})
	}
	wg.Wait()

	equal(t, len(bad), 0, "failed requests: %v", bad)
	equal(t, srv.CallCount(lwatest.EndpointTokenInfo), n/2, "tokeninfo count")
	equal(t, srv.CallCount(lwatest.EndpointProfile), n/2, "profile count")
	equal(t, len(rids), n, "distinct request IDs")
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
		for _, c := range srv.Calls(ep) {
			if !equal(t, c.Status, http.StatusOK, "%s call status", ep) {
				break
			}
		}
	}
}

func TestConcurrentControl(t *testing.T) {
	// Failures, delays, the clock and call records change while requests run.
	srv := newServer(t)
	tok := srv.Issue(clientID, alice, lwatest.WithLifetime(24*time.Hour))
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			switch i % 5 {
			case 0:
				srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500, Times: 1})
			case 1:
				srv.SetDelay(lwatest.EndpointProfile, time.Millisecond)
			case 2:
				srv.Advance(time.Second)
			case 3:
				srv.Recover()
			case 4:
				srv.ResetCalls()
			}
			st, err := statusOf(srv, "/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil)
			check(t, err == nil && (st == 200 || st == 500), "tokeninfo: %d %v", st, err)
			st, err = statusOf(srv, "/user/profile", http.Header{"Authorization": {"Bearer " + tok}})
			check(t, err == nil && st == 200, "profile: %d %v", st, err)
			_ = srv.Calls(lwatest.EndpointTokenInfo)
			_ = srv.Now()
		})
	}
	wg.Wait()
}
