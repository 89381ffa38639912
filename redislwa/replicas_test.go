package redislwa_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/redislwa"
)

var (
	// fleetKey is the replicas' shared-tier key (core.WithSharedKeys).
	fleetKey = []byte("redislwa tests: the fleet's key, 32 bytes or more")
	alice    = core.Profile{UserID: "amzn1.account.ALICE0SECRETUSERID", Email: "alice.secret@example.com",
		Name: "Alice Secretname", PostalCode: "98052-1234"}
	bob = core.Profile{UserID: "amzn1.account.BOB0SECRETUSERID", Email: "bob.secret@example.com", Name: "Bob Hidden"}
)

// logs collects a verifier's log records.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// replica is one server of a fleet: its own Redis client, its own verifier.
// Its Redis calls may take a second, not the default 50 ms: these tests are
// about coordination, and go test runs packages side by side on a loaded
// machine (TestRedisTroubleNeverFailsARequest keeps the default).
func replica(t testing.TB, srv *lwatest.Server, rdb redis.UniversalClient, opts ...core.Option) *core.Verifier {
	t.Helper()
	c := redislwa.New(rdb, redislwa.WithTimeout(time.Second))
	return srv.Verifier(t, append([]core.Option{core.WithSharedCache(c), core.WithSharedKeys(fleetKey)}, opts...)...)
}

func fleet(t testing.TB, n int, opts ...core.Option) (*lwatest.Server, *redistest.Server, []*core.Verifier) {
	t.Helper()
	srv := lwatest.Start(t)
	rs := redistest.Start(t)
	vs := make([]*core.Verifier, n)
	for i := range vs {
		vs[i] = replica(t, srv, rs.Client(t), opts...)
	}
	return srv, rs, vs
}

func verified(t testing.TB, v *core.Verifier, tok string) core.Profile {
	t.Helper()
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	return p
}

func rejected(t testing.TB, v *core.Verifier, tok string) {
	t.Helper()
	_, err := v.Verify(context.Background(), tok)
	require.Error(t, err)
	require.True(t, errors.Is(err, core.ErrInvalidToken), "want invalid_token, got %v", err)
	var e *core.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.Status)
}

// TestSharedTierServesSecondReplica: a token verified by one replica is
// served by another without asking Amazon.
func TestSharedTierServesSecondReplica(t *testing.T) {
	for name, start := range map[string]func(t testing.TB) (redis.UniversalClient, redis.UniversalClient){
		"single": func(t testing.TB) (redis.UniversalClient, redis.UniversalClient) {
			rs := redistest.Start(t)
			return rs.Client(t), rs.Client(t)
		},
		"cluster": func(t testing.TB) (redis.UniversalClient, redis.UniversalClient) {
			rs := redistest.StartCluster(t)
			return rs.ClusterClient(t), rs.ClusterClient(t)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := lwatest.Start(t)
			c1, c2 := start(t)
			a, b := replica(t, srv, c1), replica(t, srv, c2)
			tok := srv.Token(alice)
			assert.Equal(t, alice, verified(t, a, tok))
			assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))
			p, info, err := b.VerifyInfo(context.Background(), tok)
			require.NoError(t, err)
			assert.Equal(t, alice, p)
			assert.Equal(t, lwatest.ClientID, info.ClientID)
			assert.False(t, info.IssuedAt.IsZero())
			assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "the second replica asked Amazon")
			assert.Equal(t, 1, srv.CallCount(lwatest.EndpointProfile))
			// A rejection is shared too.
			gone := srv.Token(bob)
			srv.Revoke(gone)
			rejected(t, a, gone)
			rejected(t, b, gone)
			assert.Equal(t, 2, srv.CallCount(lwatest.EndpointTokenInfo))
		})
	}
}

// TestInvalidationAcrossReplicas: Forget, Revoke and RevokeUser on one
// replica reach the others.
func TestInvalidationAcrossReplicas(t *testing.T) {
	srv, rs, vs := fleet(t, 3)
	a, b, c := vs[0], vs[1], vs[2]
	ctx := context.Background()
	everywhere := func(tok string) {
		t.Helper()
		for _, v := range vs {
			verified(t, v, tok)
		}
	}

	t.Run("Forget", func(t *testing.T) {
		tok := srv.Token(alice)
		everywhere(tok)
		n := srv.CallCount(lwatest.EndpointTokenInfo)
		a.Forget(tok)
		verified(t, a, tok) // before Forget returned: asks again
		require.Equal(t, n+1, srv.CallCount(lwatest.EndpointTokenInfo))
		a.Forget(tok)
		require.Eventually(t, func() bool { verified(t, c, tok); return srv.CallCount(lwatest.EndpointTokenInfo) == n+2 },
			2*time.Second, time.Millisecond, "c asks Amazon again")
	})
	t.Run("Revoke", func(t *testing.T) {
		tok := srv.Token(alice)
		everywhere(tok)
		require.NoError(t, a.Revoke(ctx, "Bearer "+tok))
		rejected(t, a, tok)                            // at once on the calling replica
		for _, other := range []*core.Verifier{b, c} { // each hears the message in its own time
			require.Eventually(t, func() bool {
				_, err := other.Verify(ctx, tok)
				return errors.Is(err, core.ErrInvalidToken)
			}, 2*time.Second, time.Millisecond)
		}
		// A replica that joins later reads the revocation record.
		rejected(t, replica(t, srv, rs.Client(t)), tok)
		// Amazon itself still accepts the token: only this fleet refuses it.
		verified(t, srv.Verifier(t), tok)
	})
	t.Run("RevokeUser", func(t *testing.T) {
		old1, old2 := srv.Token(alice), srv.Token(alice)
		other := srv.Token(bob)
		everywhere(old1)
		everywhere(other)
		require.NoError(t, b.RevokeUser(ctx, alice.UserID))
		rejected(t, b, old1)
		require.Eventually(t, func() bool {
			_, err := a.Verify(ctx, old1)
			return errors.Is(err, core.ErrInvalidToken)
		}, 2*time.Second, time.Millisecond)
		rejected(t, c, old2)                             // never cached: the record decides
		rejected(t, replica(t, srv, rs.Client(t)), old1) // a later replica too
		verified(t, c, other)                            // another customer is untouched
		srv.Advance(5 * time.Second)                     // past RevokeUser's 2 s margin
		fresh := srv.Token(alice)                        // issued after the call
		assert.Equal(t, alice, verified(t, a, fresh))    // accepted
		assert.Equal(t, alice, verified(t, c, fresh))
	})
}

// TestRevocationLag measures how long a Revoke on one replica takes to
// reach a replica that holds the token in its local tier.
func TestRevocationLag(t *testing.T) {
	srv, _, vs := fleet(t, 2)
	a, b := vs[0], vs[1]
	ctx := context.Background()
	var lags []time.Duration
	for range 50 {
		tok := srv.Token(alice)
		verified(t, a, tok)
		verified(t, b, tok)
		start := time.Now()
		require.NoError(t, a.Revoke(ctx, tok))
		for {
			if _, err := b.Verify(ctx, tok); err != nil {
				require.True(t, errors.Is(err, core.ErrInvalidToken), "%v", err)
				break
			}
			require.Less(t, time.Since(start), 2*time.Second, "the revocation never arrived")
		}
		lags = append(lags, time.Since(start))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	t.Logf("revocation lag across replicas: p50 %v, p99 %v", p50, p99)
	assert.Less(t, p99, 100*time.Millisecond, "p99 revocation lag")
}

// TestRedisDumpHoldsNoSecret: neither what Redis stores nor any command or
// message sent to it holds a token, a user ID, an email, a name or a postal
// code.
func TestRedisDumpHoldsNoSecret(t *testing.T) {
	srv, rs, vs := fleet(t, 2)
	stop := rs.Monitor(t)
	ctx := context.Background()
	tok, gone := srv.Token(alice), srv.Token(bob)
	srv.Revoke(gone)
	verified(t, vs[0], tok)
	verified(t, vs[1], tok)
	_, _ = vs[0].Verify(ctx, gone)
	other := srv.Token(alice)
	verified(t, vs[1], other)
	vs[1].Forget(other)
	require.NoError(t, vs[0].Revoke(ctx, tok))
	require.NoError(t, vs[1].RevokeUser(ctx, alice.UserID))
	dump := rs.Dump(t)
	require.NotEmpty(t, dump)
	var all strings.Builder
	for k, v := range dump {
		all.WriteString(k + "\n" + string(v) + "\n")
	}
	lines := stop()
	require.NotEmpty(t, lines)
	all.WriteString(strings.Join(lines, "\n"))
	text := all.String()
	for _, secret := range []string{tok, gone, other, tok[5:40], alice.UserID, alice.Email, alice.Name, alice.PostalCode,
		bob.UserID, bob.Email, bob.Name, "ALICE0SECRET", "Secretname", "98052"} {
		assert.NotContains(t, text, secret)
	}
	t.Logf("redis holds %d keys, e.g. %s", len(dump), firstKey(dump))
}

func firstKey(m map[string][]byte) string {
	for k := range m {
		return k
	}
	return ""
}

// TestTamperedValueIsAMiss: a value changed in Redis (or its TTL extended)
// is a miss, never an error to the client and never trusted.
func TestTamperedValueIsAMiss(t *testing.T) {
	srv, rs, vs := fleet(t, 1)
	tok := srv.Token(alice)
	verified(t, vs[0], tok)
	rdb := rs.Client(t)
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*:e").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	val, err := rdb.Get(ctx, keys[0]).Bytes()
	require.NoError(t, err)
	val[len(val)-1] ^= 1
	require.NoError(t, rdb.Set(ctx, keys[0], val, time.Hour).Err())
	other := replica(t, srv, rs.Client(t))
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	assert.Equal(t, alice, verified(t, other, tok))
	assert.Equal(t, n+1, srv.CallCount(lwatest.EndpointTokenInfo), "the tampered value was not trusted")
	// A value sealed for one token cannot be moved to another's key.
	tok2 := srv.Token(bob)
	verified(t, other, tok2)
	keys, err = rdb.Keys(ctx, "*:e").Result()
	require.NoError(t, err)
	require.Len(t, keys, 2)
	v0, _ := rdb.Get(ctx, keys[0]).Bytes()
	require.NoError(t, rdb.Set(ctx, keys[1], v0, time.Hour).Err())
	third := replica(t, srv, rs.Client(t))
	p, err := third.Verify(ctx, tok2)
	require.NoError(t, err)
	assert.Equal(t, bob, p)
	p, err = third.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, alice, p)
}

// TestOneVerificationAcrossFleet: 3 replicas, 50 tokens, each used at once
// on every replica: Amazon is asked about once per token.
func TestOneVerificationAcrossFleet(t *testing.T) {
	srv, _, vs := fleet(t, 3)
	srv.SetDelay(lwatest.EndpointTokenInfo, 20*time.Millisecond)
	srv.SetDelay(lwatest.EndpointProfile, 20*time.Millisecond)
	const tokens = 50
	toks := make([]string, tokens)
	for i := range toks {
		toks[i] = srv.Token(core.Profile{UserID: fmt.Sprintf("amzn1.account.U%d", i)})
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, tok := range toks {
		for _, v := range vs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := v.Verify(context.Background(), tok)
				assert.NoError(t, err)
			}()
		}
	}
	close(start)
	wg.Wait()
	calls := srv.CallCount(lwatest.EndpointTokenInfo) + srv.CallCount(lwatest.EndpointProfile)
	t.Logf("3 replicas, %d tokens: %d upstream calls (%.2f per token)", tokens, calls, float64(calls)/tokens)
	assert.LessOrEqual(t, calls, int(2*tokens*1.1))
}

// TestRedisTroubleNeverFailsARequest: Redis stopped, restarted and hanging:
// requests are still answered (from the local tier and Amazon), one Warn
// per change of state; Revoke says when the fleet did not hear it; a
// replica drops its local tier when its subscription comes back.
func TestRedisTroubleNeverFailsARequest(t *testing.T) {
	srv := lwatest.Start(t)
	rs := redistest.Start(t)
	var l logs
	v := srv.Verifier(t, core.WithSharedCache(redislwa.New(rs.Client(t))), core.WithSharedKeys(fleetKey), // the default 50 ms timeout
		core.WithLogger(slog.New(slog.NewTextHandler(&l, nil))))
	ctx := context.Background()
	cached := srv.Token(alice)
	verified(t, v, cached)

	mark := len(l.String()) // under load a 50 ms call may have timed out already: count from here
	rs.Stop()
	for range 20 {
		verified(t, v, srv.Token(alice)) // new tokens: Amazon
		verified(t, v, cached)           // the local tier
	}
	err := v.Revoke(ctx, srv.Token(alice))
	require.Error(t, err, "Revoke must say the other replicas did not hear it")
	assert.LessOrEqual(t, strings.Count(l.String()[mark:], "shared cache unavailable"), 1, "one Warn per change of state:\n%s", l.String())
	assert.Contains(t, l.String(), "shared cache unavailable")

	rs.Restart()
	require.Eventually(t, func() bool {
		verified(t, v, srv.Token(alice))
		return strings.Contains(l.String(), "shared cache available again")
	}, 10*time.Second, 20*time.Millisecond)
	// The subscription came back: the local tier was dropped (it may have
	// missed invalidations), so the cached token is asked about again.
	require.Eventually(t, func() bool { return strings.Contains(l.String(), "subscription re-established") },
		10*time.Second, 10*time.Millisecond)
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	verified(t, v, cached)
	assert.Equal(t, n+1, srv.CallCount(lwatest.EndpointTokenInfo), "local tier dropped on reconnect")

	rs.Freeze() // hanging: every call bounded by redislwa's timeout
	start := time.Now()
	verified(t, v, srv.Token(alice))
	assert.Less(t, time.Since(start), 2*time.Second)
	rs.Thaw()
}

// TestLocalHitWithSharedCacheAllocatesNothing: the local tier's hit path
// is unchanged by a shared cache.
func TestLocalHitWithSharedCacheAllocatesNothing(t *testing.T) {
	srv, _, vs := fleet(t, 1)
	tok := srv.Token(alice)
	verified(t, vs[0], tok)
	ctx := context.Background()
	var err error
	allocs := testing.AllocsPerRun(1000, func() { _, err = vs[0].Verify(ctx, tok) })
	require.NoError(t, err)
	assert.Zero(t, allocs)
}
