package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
)

// memLWA is an in-memory LWA upstream (a RoundTripper): every token it is
// asked about is valid for alice, unless it panics or is held at its gate.
// It is for tests that need thousands of verifications quickly; lwatest is
// the upstream of every other test.
type memLWA struct {
	calls   atomic.Int64 // tokeninfo calls started
	entered chan struct{}
	gate    chan struct{} // when non-nil, tokeninfo calls wait for it to close
	panicOn string        // "tokeninfo" or "profile": panic with the URL
	mu      sync.Mutex    // guards gate
}

func (m *memLWA) RoundTrip(r *http.Request) (*http.Response, error) {
	isTI := strings.HasSuffix(r.URL.Path, "/tokeninfo")
	if (m.panicOn == "tokeninfo" && isTI) || (m.panicOn == "profile" && !isTI) {
		panic("boom at " + r.URL.String() + " " + r.Header.Get("Authorization"))
	}
	body := profileBody(alice)
	if isTI {
		m.calls.Add(1)
		if m.entered != nil {
			select {
			case m.entered <- struct{}{}:
			default:
			}
		}
		m.mu.Lock()
		gate := m.gate
		m.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
		body = tokenInfoBody(alice.UserID, clientID, 3600)
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func memVerifier(t testing.TB, m *memLWA, opts ...core.Option) *core.Verifier {
	return newVerifier(t, nil, append([]core.Option{
		core.WithEndpoint("http://lwa.invalid"), core.WithHTTPClient(&http.Client{Transport: m}),
	}, opts...)...)
}

// TestForgetIsPerToken: forgetting one token (a /logout loop) never stops
// another from being cached.
func TestForgetIsPerToken(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	a := srv.Issue(clientID, alice)
	b := srv.Issue(clientID, core.Profile{UserID: "amzn1.account.BOB"})
	srv.SetDelay(lwatest.EndpointTokenInfo, 50*time.Millisecond)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // one account logging out in a loop
		defer close(done)
		for !stop.Load() {
			v.Forget(a)
			runtime.Gosched()
		}
	}()
	_, err := v.Verify(context.Background(), b) // in flight while a is forgotten
	stop.Store(true)
	<-done
	require.NoError(t, err)
	srv.SetDelay(lwatest.EndpointTokenInfo, 0)
	for range 10 {
		_, err = v.Verify(context.Background(), b)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "b stays cached while a is forgotten")
}

// TestForgetRacesStore: a Forget that returns while a verification
// of the token is under way leaves the token uncached, whatever the
// interleaving of the store and the Forget (20 000 tries).
func TestForgetRacesStore(t *testing.T) {
	tries := 20_000
	if testing.Short() {
		tries = 2_000
	}
	m := &memLWA{entered: make(chan struct{}, 1)}
	v := memVerifier(t, m)
	for i := range tries {
		gate := make(chan struct{})
		m.mu.Lock()
		m.gate = gate
		m.mu.Unlock()
		tok := fmt.Sprintf("Atza|forget-race-%d", i)
		res := make(chan error, 1)
		go func() { _, err := v.Verify(context.Background(), tok); res <- err }()
		<-m.entered // the verification has begun
		forgot := make(chan struct{})
		go func() { v.Forget(tok); close(forgot) }()
		close(gate) // its answer races the Forget
		require.NoError(t, <-res)
		<-forgot
		before := m.calls.Load()
		_, err := v.Verify(context.Background(), tok)
		require.NoError(t, err)
		require.Equal(t, before+1, m.calls.Load(), "try %d: a token forgotten during its verification was cached", i)
		<-m.entered // the check's own call
	}
}

// TestForgetDetachesFlight: a use after Forget returned never joins the
// verification that began before it.
func TestForgetDetachesFlight(t *testing.T) {
	m := &memLWA{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	v := memVerifier(t, m)
	tok := "Atza|detach"
	first := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), tok); first <- err }()
	<-m.entered
	v.Forget(tok)
	second := make(chan error, 1)
	go func() { _, err := v.Verify(context.Background(), tok); second <- err }()
	<-m.entered // the second use started its own verification
	close(m.gate)
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	assert.Equal(t, int64(2), m.calls.Load())
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, int64(2), m.calls.Load(), "the verification that began after Forget is cached")
}

// TestForgetNormalizes: Forget takes the token as the client sent it.
func TestForgetNormalizes(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	for i, sent := range []string{url.QueryEscape(tok), "  " + tok + "\t", "Bearer " + tok, "bearer  " + url.PathEscape(tok)} {
		requireVerified(t, v, tok, alice)
		v.Forget(sent)
		requireVerified(t, v, tok, alice)
		assert.Equal(t, i+2, srv.CallCount(lwatest.EndpointTokenInfo), "Forget(%q) forgot the token", sent[:12])
	}
}

// TestPanicsBecome502: a panic in the tokeninfo call or in the profile
// goroutine (here, in the user's RoundTripper) is a 502, and neither the
// log nor the error holds its value, which holds the token.
func TestPanicsBecome502(t *testing.T) {
	for _, where := range []string{"tokeninfo", "profile"} {
		t.Run(where, func(t *testing.T) {
			var logs bytes.Buffer
			m := &memLWA{panicOn: where}
			v := memVerifier(t, m, core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			tok := "Atza|panic-secret-0123456789"
			_, err := v.Verify(context.Background(), tok)
			requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), logs.String()} {
				assert.NotContains(t, text, "panic-secret")
				assert.NotContains(t, text, "boom")
			}
			assert.Contains(t, logs.String(), "panic during verification")
			assert.Contains(t, logs.String(), `"panic_type":"string"`)
		})
	}
}

// waitObserver counts the verifications waiting for a slot.
type waitObserver struct {
	observe.Nop
	waiting atomic.Int64
}

func (o *waitObserver) VerificationWaiting(_ context.Context, d int) { o.waiting.Add(int64(d)) }

// TestOrphanedWorkAbandoned: 50 000 callers that all hang up against a
// hanging upstream leave no goroutine or heap behind within one timeout, and
// no verification asks Amazon for them once it recovers.
func TestOrphanedWorkAbandoned(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 5_000
	}
	const timeout, pending = 5 * time.Second, 1024
	m := &memLWA{gate: make(chan struct{})}
	obs := &waitObserver{}
	v := memVerifier(t, m, core.WithTimeout(timeout), core.WithMaxPendingVerifications(pending), core.WithObserver(obs),
		core.WithCircuitBreaker(0, 0)) // the first flood's timeouts would open it for the second
	baseG := runtime.NumGoroutine()
	flood := func(round int) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var overloaded, gone atomic.Int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := v.Verify(ctx, fmt.Sprintf("Atza|orphan-%d-%d", round, i))
				switch {
				case errorsIs(err, core.ErrOverloaded):
					overloaded.Add(1)
				case errorsIs(err, context.Canceled):
					gone.Add(1)
				}
			}()
		}
		// Every caller is waiting (64 holding the slots, the pending ones for
		// a slot) or was answered at once: then they all hang up.
		require.Eventually(t, func() bool {
			return obs.waiting.Load() == pending && overloaded.Load() == int64(n-pending-core.DefaultMaxConcurrent)
		}, 60*time.Second, 5*time.Millisecond)
		cancel()
		wg.Wait()
		assert.Equal(t, int64(n), overloaded.Load()+gone.Load())
		require.Eventually(t, func() bool { return obs.waiting.Load() == 0 }, time.Second, time.Millisecond,
			"waiting verifications abandoned at once")
		// Within one timeout the held verifications end too.
		require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseG+5 }, timeout+2*time.Second, 10*time.Millisecond,
			"goroutines back to baseline")
	}
	flood(1)
	heap1 := fldHeap()
	started := m.calls.Load()
	assert.Equal(t, int64(core.DefaultMaxConcurrent), started, "only the verifications holding a slot asked Amazon")
	flood(2)
	assert.Less(t, fldHeap(), heap1+2<<20, "a second flood leaves the heap where the first did")
	close(m.gate) // the upstream recovers
	_, err := v.Verify(context.Background(), "Atza|after")
	require.NoError(t, err)
	assert.Equal(t, 2*started+1, m.calls.Load(), "no upstream call for departed callers after recovery")
}

// TestFormattingRedactsTokens: no formatting verb nor slog prints a token
// held by TokenSources or Request.
func TestFormattingRedactsTokens(t *testing.T) {
	tok := "Atza|format-secret-0123456789"
	src := core.TokenSources{Authorization: []string{"Bearer " + tok}, AmzAccessToken: []string{tok}, Query: []string{tok},
		Header: []string{tok}, Cookie: []string{tok}}
	req := src
	req.Method = "GET"
	var logs bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logs, nil))
	l.Info("x", "src", src, "req", req, "psrc", &src, "preq", &req)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "src", src, "req", req)
	out := logs.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		out += fmt.Sprintf(verb, src) + fmt.Sprintf(verb, req) + fmt.Sprintf(verb, &src) + fmt.Sprintf(verb, &req)
	}
	assert.NotContains(t, out, "format-secret")
	assert.NotContains(t, out, fmt.Sprintf("%x", "format-secret"))
	assert.Contains(t, fmt.Sprintf("%v", req), "GET", "the method is still shown")
	assert.Contains(t, fmt.Sprintf("%v", src), "REDACTED")
}

// TestInconsistentAnswersNeverCached: an answer that is not one of
// Amazon's documented ones is a 502 and is not remembered, positively or
// negatively: once Amazon answers properly, the token verifies.
func TestInconsistentAnswersNeverCached(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: profileBody(core.Profile{UserID: "amzn1.account.MALLORY"}), Times: 1})
	_, err := v.Verify(context.Background(), tok)
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	requireVerified(t, v, tok, alice)
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 401, Times: 1})
	other := srv.Issue(clientID, alice)
	_, err = v.Verify(context.Background(), other)
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	requireVerified(t, v, other, alice)
}

// TestRedirectsNotFollowedWithUserClient: a user's client that follows
// redirects is used through a copy that does not, and is not modified.
func TestRedirectsNotFollowedWithUserClient(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked.Add(1) }))
	t.Cleanup(elsewhere.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	user := &http.Client{} // follows redirects
	v := newVerifier(t, nil, core.WithEndpoint(redirector.URL), core.WithHTTPClient(user))
	_, err := v.Verify(context.Background(), "Atza|redirect-me")
	requireRejection(t, err, 502, core.CodeServerError, core.ErrUpstream)
	assert.Zero(t, leaked.Load(), "the token was carried elsewhere")
	assert.Nil(t, user.CheckRedirect, "the user's client is not modified")
}

// TestOverloadedRow: past WithMaxPendingVerifications a new token is
// answered at once with 503 and Retry-After.
func TestOverloadedRow(t *testing.T) {
	m := &memLWA{gate: make(chan struct{})}
	t.Cleanup(func() { close(m.gate) })
	obs := &waitObserver{}
	v := memVerifier(t, m, core.WithMaxConcurrentVerifications(1), core.WithMaxPendingVerifications(1), core.WithObserver(obs))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = v.Verify(ctx, "Atza|one") }()
	require.Eventually(t, func() bool { return m.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	go func() { _, _ = v.Verify(ctx, "Atza|two") }()
	require.Eventually(t, func() bool { return obs.waiting.Load() == 1 }, 5*time.Second, time.Millisecond, "two waits for the slot")
	_, err := v.Verify(ctx, "Atza|three")
	e := requireRejection(t, err, 503, core.CodeServerError, core.ErrOverloaded)
	w := httptest.NewRecorder()
	core.WriteError(w, e)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
}

var errorsIs = errors.Is

// TestCredentialsContextRedacts: the context Authenticate returns holds
// the token (for Token and Revoke); no formatting verb, slog, nor a
// framework store printed with %v (a map holding it) shows it, nor does a
// context derived from it.
func TestCredentialsContextRedacts(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)
	ctx, ok, err := v.Authenticate(context.Background(), headerRequest(tok), core.Policy{})
	require.NoError(t, err)
	require.True(t, ok)
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	type key struct{}
	child = context.WithValue(child, key{}, "x")
	store := map[string]any{core.ContextKey: ctx}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "ctx", ctx, "child", child, "store", store)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "ctx", ctx, "child", child)
	out := logs.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		out += fmt.Sprintf(verb, ctx) + fmt.Sprintf(verb, child) + fmt.Sprintf(verb, store)
	}
	if piece, found := leaks(out, tok, alice.Email, alice.Name, alice.PostalCode); found {
		t.Fatalf("a formatted credentials context shows %q:\n%s", piece, out)
	}
	got, _ := core.TokenFromContext(child)
	assert.Equal(t, tok, got, "the token is still there for Revoke")
}
