package benchmarks

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// burstDelay holds every upstream answer in the burst tests long enough for
// all goroutines, released together, to ask for their token while its first
// verification is still in flight. The counts asserted do not depend on it
// for their correctness (a late goroutine finds the token cached); it makes
// the tests exercise coalescing rather than the cache.
const burstDelay = 50 * time.Millisecond

// burst runs uses[i] for every i in concurrent goroutines released together
// behind a barrier, each verifying its token, and checks every profile.
func burst(t *testing.T, f *fixture, uses []string) {
	t.Helper()
	f.srv.SetDelay(lwatest.EndpointTokenInfo, burstDelay)
	f.srv.SetDelay(lwatest.EndpointProfile, burstDelay)
	want := make(map[string]core.Profile)
	for _, tok := range uses {
		want[tok], _ = f.srv.Profile(tok)
	}

	var ready, done sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, len(uses))
	got := make([]core.Profile, len(uses))
	for i, tok := range uses {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			p, err := f.v.Verify(context.Background(), tok)
			if err != nil {
				errs <- err
				return
			}
			got[i] = p
		}()
	}
	ready.Wait() // every goroutine has started
	close(start)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Verify: %v", err)
	}
	for i, tok := range uses {
		if got[i] != want[tok] {
			t.Fatalf("use %d: profile %+v, want %+v", i, got[i], want[tok])
		}
	}
}

// assertUpstreamCalls checks the exact number of calls lwatest received on
// each endpoint.
func assertUpstreamCalls(t *testing.T, srv *lwatest.Server, want int) {
	t.Helper()
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
		if n := srv.CallCount(ep); n != want {
			t.Errorf("%v calls = %d, want %d", ep, n, want)
		}
	}
}

// TestBurstOneToken: 1000 concurrent first uses of one token cost exactly one
// tokeninfo and one profile call.
func TestBurstOneToken(t *testing.T) {
	const uses = 1000
	f := newFixture(t)
	tok := f.issue(1)[0]
	toks := make([]string, uses)
	for i := range toks {
		toks[i] = tok
	}
	burst(t, f, toks)
	assertUpstreamCalls(t, f.srv, 1)
}

// TestBurstDistinctTokens: M distinct tokens, each used by 20 goroutines at
// once, cost exactly M tokeninfo and M profile calls (2·M in all).
func TestBurstDistinctTokens(t *testing.T) {
	const (
		m    = 50
		each = 20
	)
	// M stays under the verifier's cap on concurrent verifications, so no
	// verification waits for a slot (and the test sees pure coalescing).
	if m > core.DefaultMaxConcurrent {
		t.Fatalf("m = %d exceeds the default verification cap %d", m, core.DefaultMaxConcurrent)
	}
	f := newFixture(t)
	distinct := f.issue(m)
	toks := make([]string, 0, m*each)
	for range each {
		toks = append(toks, distinct...) // interleaved: the uses of one token are spread out
	}
	burst(t, f, toks)
	assertUpstreamCalls(t, f.srv, m)
	if n := f.srv.CallCount(lwatest.EndpointTokenInfo) + f.srv.CallCount(lwatest.EndpointProfile); n != 2*m {
		t.Errorf("upstream calls = %d, want 2·M = %d", n, 2*m)
	}
}
