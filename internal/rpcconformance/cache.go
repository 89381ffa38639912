package rpcconformance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// testConcurrency: many customers at once, unary and streaming, each seeing
// their own profile and token; concurrent first uses of a token share one
// verification (coalescing), and the cache serves the rest.
func testConcurrency(t *testing.T, a Adapter) {
	const users, perUser = 40, 6
	// Amazon answers slowly, so that every first use overlaps the others.
	// On a loaded machine (-race, 2 cores, other tests) a call may then take
	// longer than the breaker's hang threshold (1 s), which would open it:
	// the breaker is not what this case is about.
	e := newEnv(t, a, Setup{}, core.WithCircuitBreaker(0, 0), core.WithTimeout(30*time.Second))
	e.srv.SetDelay(lwatest.EndpointTokenInfo, 50*time.Millisecond)
	e.srv.SetDelay(lwatest.EndpointProfile, 50*time.Millisecond)
	toks := make([]string, users)
	profiles := make([]core.Profile, users)
	for i := range users {
		// Tokens of different lengths, so that reused buffers would show.
		toks[i], profiles[i] = e.issue(fmt.Sprintf("user%02d", i),
			lwatest.WithToken(fmt.Sprintf("Atza|u%02d-%s", i, strings.Repeat("x", 350+7*i))))
	}
	results := make([][perUser]Result, users)
	var wg sync.WaitGroup
	for i := range users {
		for j := range perUser {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				method := UnaryMethod
				if j%2 == 1 {
					method = StreamMethod
				}
				kv := []string{auth, bearer(toks[i])}
				if j%3 == 2 {
					kv = []string{amz, toks[i]}
				}
				results[i][j] = e.client.Call(ctx, method, kv...)
			})
		}
	}
	wg.Wait()
	for i := range users {
		for j := range perUser {
			r := results[i][j]
			require.Equal(t, codeOK, r.Code, "user %d call %d: %q (%v)", i, j, r.Message, r.Err)
			want := 1
			if j%2 == 1 {
				want = StreamReplies
			}
			require.Len(t, r.Replies, want, "user %d call %d", i, j)
			for _, reply := range r.Replies {
				var s seen
				require.NoError(t, json.Unmarshal([]byte(reply), &s))
				assert.Equal(t, &profiles[i], s.Adapter, "user %d call %d: adapter getter", i, j)
				assert.Equal(t, &profiles[i], s.Context, "user %d call %d: core.FromContext", i, j)
				assert.Equal(t, tokenHash(toks[i]), s.Token, "user %d call %d: Token", i, j)
			}
		}
	}
	assert.Equal(t, int64(users*perUser/2*(1+StreamReplies)), e.hits.Load(), "handler answers")
	e.calls(t, users) // coalesced and cached: one verification per token
}

// testCache: a verified token is not verified again, whatever source and
// method carries it.
func testCache(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	tok, p := e.issue("alice")
	for i := range 12 {
		kv := []string{auth, bearer(tok)}
		if i%3 == 1 {
			kv = []string{amz, tok}
		}
		if i%2 == 0 {
			e.accept(t, e.unary(t, kv...), &p)
		} else {
			e.accept(t, e.stream(t, kv...), &p)
		}
	}
	e.calls(t, 1)
	tok2, p2 := e.issue("bob")
	for range 3 {
		e.acceptBoth(t, &p2, auth, bearer(tok2))
	}
	e.calls(t, 2)
}
