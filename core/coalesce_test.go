package core_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// TestCoalesceConcurrentFirstUses: 100 concurrent first uses of one token
// share one verification: one call to each endpoint, made at the same time.
func TestCoalesceConcurrentFirstUses(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	srv.SetDelay(lwatest.EndpointTokenInfo, 300*time.Millisecond)
	srv.SetDelay(lwatest.EndpointProfile, 300*time.Millisecond)

	res := parallel(100, func(int) result { return verifyResult(context.Background(), v, tok) })
	for i, r := range res {
		require.NoError(t, r.err, "caller %d", i)
		require.Equal(t, alice, r.p, "caller %d", i)
	}
	ti := onlyCall(t, srv, lwatest.EndpointTokenInfo)
	pr := onlyCall(t, srv, lwatest.EndpointProfile)
	assert.Equal(t, 200, ti.Status)
	assert.Equal(t, 200, pr.Status)
	assert.True(t, ti.Start.Before(pr.End), "tokeninfo started before profile ended")
	assert.True(t, pr.Start.Before(ti.End), "profile started before tokeninfo ended")
}

// TestCoalesceUpstreamCallShape: the token goes to tokeninfo in the query
// and to profile in the Authorization header, never in the profile URL.
func TestCoalesceUpstreamCallShape(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	requireVerified(t, v, srv.Issue(clientID, alice), alice)
	ti := onlyCall(t, srv, lwatest.EndpointTokenInfo)
	pr := onlyCall(t, srv, lwatest.EndpointProfile)
	assert.Equal(t, "GET", ti.Method)
	assert.Equal(t, "query", ti.TokenFrom)
	assert.Equal(t, "GET", pr.Method)
	assert.Equal(t, "authorization", pr.TokenFrom)
}

// TestCoalesceCancelledCaller: a caller whose context ends returns at once
// with its context's error, while the shared verification goes on for the
// others.
func TestCoalesceCancelledCaller(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	srv.SetDelay(lwatest.EndpointTokenInfo, 500*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelled := make(chan result, 1)
	go func() { cancelled <- verifyResult(ctx, v, tok) }()
	require.Eventually(t, func() bool { return srv.CallCount(lwatest.EndpointTokenInfo) == 1 },
		5*time.Second, time.Millisecond, "the shared verification reached tokeninfo")

	others := make(chan []result, 1)
	go func() {
		others <- parallel(20, func(int) result { return verifyResult(context.Background(), v, tok) })
	}()

	cancel()
	r := <-cancelled
	assert.True(t, onlyCall(t, srv, lwatest.EndpointTokenInfo).End.IsZero(),
		"the cancelled caller returned while tokeninfo was still answering")
	require.Error(t, r.err)
	assert.ErrorIs(t, r.err, context.Canceled)
	var e *core.Error
	require.ErrorAs(t, r.err, &e)
	assert.Equal(t, 504, e.Status)
	for _, s := range sentinels {
		assert.NotErrorIs(t, r.err, s, "the caller's own context, not a row of the table")
	}

	for i, o := range <-others {
		require.NoError(t, o.err, "caller %d", i)
		assert.Equal(t, alice, o.p)
	}
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointProfile))
}

// TestCoalesceFirstCallerLeavesEarly: the first caller's deadline does not
// bound the shared verification, which completes and is cached.
func TestCoalesceFirstCallerLeavesEarly(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	srv.SetDelay(lwatest.EndpointTokenInfo, 300*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, tok)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, core.ErrUpstreamTimeout, "the caller's deadline is not Amazon's timeout")

	// Joins the verification still under way, or finds it cached.
	requireVerified(t, v, tok, alice)
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))
	assert.Equal(t, 200, onlyCall(t, srv, lwatest.EndpointTokenInfo).Status)
}

// TestCoalesceOwnTimeout: a hanging upstream gives 504 after WithTimeout,
// even to callers whose contexts would wait much longer.
func TestCoalesceOwnTimeout(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv, core.WithTimeout(200*time.Millisecond))
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := parallel(5, func(int) result { return verifyResult(ctx, v, tok) })
	require.NoError(t, ctx.Err(), "the callers' context is still alive")
	for _, r := range res {
		requireRejection(t, r.err, 504, core.CodeServerError, core.ErrUpstreamTimeout)
	}
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))
}

// TestCoalescedCallersGetTheirOwnError: callers that shared one
// verification each get their own *Error, so that one caller editing it
// cannot change another's.
func TestCoalescedCallersGetTheirOwnError(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := randomToken("Atza|")
	srv.SetDelay(lwatest.EndpointTokenInfo, 300*time.Millisecond)

	res := parallel(10, func(int) result { return verifyResult(context.Background(), v, tok) })
	require.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))
	distinct := make(map[*core.Error]bool)
	for _, r := range res {
		distinct[requireRejection(t, r.err, 400, core.CodeInvalidToken, core.ErrInvalidToken)] = true
	}
	assert.Len(t, distinct, len(res), "distinct *Error values among %d callers", len(res))
}

// TestMaxConcurrentVerifications: with a cap of 2, the fake never sees more
// than 2 tokeninfo (or profile) calls at once.
func TestMaxConcurrentVerifications(t *testing.T) {
	run := func(t *testing.T, opts ...core.Option) (tokeninfo, profile int) {
		srv := newServer(t)
		v := newVerifier(t, srv, opts...)
		srv.SetDelay(lwatest.EndpointTokenInfo, 100*time.Millisecond)
		toks := make([]string, 10)
		for i := range toks {
			toks[i] = srv.Issue(clientID, alice)
		}
		res := parallel(len(toks), func(i int) result { return verifyResult(context.Background(), v, toks[i]) })
		for _, r := range res {
			require.NoError(t, r.err)
			require.Equal(t, alice, r.p)
		}
		require.Equal(t, 10, srv.CallCount(lwatest.EndpointTokenInfo))
		return maxOverlap(srv.Calls(lwatest.EndpointTokenInfo)), maxOverlap(srv.Calls(lwatest.EndpointProfile))
	}

	ti, pr := run(t, core.WithMaxConcurrentVerifications(2))
	assert.LessOrEqual(t, ti, 2, "concurrent tokeninfo calls")
	assert.LessOrEqual(t, pr, 2, "concurrent profile calls")

	// The measurement does see concurrency when there is no such cap.
	ti, _ = run(t)
	assert.Greater(t, ti, 2, "without the cap, the 10 verifications overlap")
}

// gateTransport holds every request until its gate is closed, whatever the
// request's context says: a verification stuck in it keeps its slot.
type gateTransport struct {
	gate    chan struct{}
	entered chan struct{}
	seen    sync.Map // request URL and Authorization header -> true
	next    http.RoundTripper
}

func (g *gateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	g.seen.Store(r.URL.String(), true)
	g.seen.Store(r.Header.Get("Authorization"), true)
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.next.RoundTrip(r)
}

// sawToken reports whether any request carried tok.
func (g *gateTransport) sawToken(tok string) bool {
	found := false
	g.seen.Range(func(k, _ any) bool {
		s := k.(string)
		found = strings.Contains(s, tok) || strings.Contains(s, url.QueryEscape(tok))
		return !found
	})
	return found
}

// TestMaxConcurrentWaitBoundedByTimeout: a verification waiting for a slot
// waits no longer than WithTimeout, and never reaches Amazon.
func TestMaxConcurrentWaitBoundedByTimeout(t *testing.T) {
	srv := newServer(t)
	gt := &gateTransport{gate: make(chan struct{}), entered: make(chan struct{}, 1), next: srv.Client().Transport}
	v := newVerifier(t, srv, core.WithMaxConcurrentVerifications(1), core.WithTimeout(200*time.Millisecond),
		core.WithHTTPClient(&http.Client{Transport: gt}))
	holder, waiter := srv.Issue(clientID, alice), srv.Issue(clientID, alice)

	held := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), holder)
		held <- err
	}()
	<-gt.entered // the holder has its slot and is stuck upstream

	_, err := v.Verify(context.Background(), waiter)
	requireRejection(t, err, 504, core.CodeServerError, core.ErrUpstreamTimeout)
	assert.False(t, gt.sawToken(waiter), "the waiting verification never called Amazon")
	assert.True(t, gt.sawToken(holder))

	close(gt.gate)
	<-held // its outcome depends on which of its deadline and the gate came first
}
