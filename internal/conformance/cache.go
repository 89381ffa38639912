package conformance

import (
	"encoding/json"
	"fmt"
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

// testConcurrency: many customers at once, each seeing their own profile
// and token, one verification per token.
func testConcurrency(t *testing.T, a Adapter) {
	const users, perUser = 40, 5
	// Breaker off and a long timeout: under -race on a loaded 2-core machine
	// a verification can stay under way past the breaker's 1 s hang
	// threshold; this case is about cross-talk, not Amazon's health.
	e := newEnv(t, a, Setup{}, core.WithCircuitBreaker(0, 0), core.WithTimeout(30*time.Second))
	toks := make([]string, users)
	profiles := make([]core.Profile, users)
	for i := range users {
		// Tokens of different lengths, so that reused buffers would show.
		toks[i], profiles[i] = e.issue(fmt.Sprintf("user%02d", i),
			lwatest.WithToken(fmt.Sprintf("Atza|u%02d-%s", i, strings.Repeat("x", 350+7*i))))
	}
	type result struct {
		status int
		seen   seen
		err    error
	}
	results := make([][perUser]result, users)
	var wg sync.WaitGroup
	for i := range users {
		for j := range perUser {
			wg.Go(func() {
				var query string
				var kv []string
				switch (i + j) % 3 {
				case 0:
					kv = []string{auth, bearer(toks[i])}
				case 1:
					kv = []string{core.HeaderAmzAccessToken, toks[i]}
				default:
					query = "access_token=" + url.QueryEscape(toks[i])
				}
				r := &results[i][j]
				req, err := http.NewRequest(http.MethodGet, e.url+Path+"?"+query, nil)
				if err != nil {
					r.err = err
					return
				}
				for k := 0; k < len(kv); k += 2 {
					req.Header.Set(kv[k], kv[k+1])
				}
				resp, err := e.client.Do(req)
				if err != nil {
					r.err = err
					return
				}
				defer resp.Body.Close()
				r.status = resp.StatusCode
				r.err = json.NewDecoder(resp.Body).Decode(&r.seen)
			})
		}
	}
	wg.Wait()
	for i := range users {
		for j := range perUser {
			r := results[i][j]
			require.NoError(t, r.err, "user %d request %d", i, j)
			require.Equal(t, http.StatusOK, r.status, "user %d request %d", i, j)
			assert.Equal(t, &profiles[i], r.seen.Adapter, "user %d request %d: adapter getter", i, j)
			assert.Equal(t, &profiles[i], r.seen.Context, "user %d request %d: core.FromContext", i, j)
			assert.Equal(t, tokenHash(toks[i]), r.seen.Token, "user %d request %d: Token", i, j)
		}
	}
	assert.Equal(t, int64(users*perUser), e.hits.Load())
	e.calls(t, users) // coalesced and cached: one verification per token
}

func testCache(t *testing.T, a Adapter) {
	e := newEnv(t, a, Setup{})
	tok, p := e.issue("alice")
	for i := range 12 {
		switch i % 3 {
		case 0:
			e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
		case 1:
			e.accept(t, e.get(t, "", core.HeaderAmzAccessToken, tok), &p)
		default:
			e.accept(t, e.get(t, "access_token="+url.QueryEscape(tok)), &p)
		}
	}
	e.calls(t, 1)
	// A second customer is verified once too.
	tok2, p2 := e.issue("bob")
	for range 3 {
		e.accept(t, e.get(t, "", auth, bearer(tok2)), &p2)
	}
	e.calls(t, 2)
}

// panicMessage returns what f panicked with, as a string ("" if it did not).
