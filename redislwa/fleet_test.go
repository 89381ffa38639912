package redislwa_test

// The fleet's trust boundary, tested as its attacker would: someone with
// full access to Redis (read, write, delete, publish) but without the
// fleet's key. Everything here runs against a real redis-server.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/redislwa"
)

// watch records what a verifier reports about its shared tier.
type watch struct {
	observe.Nop
	mu        sync.Mutex
	calls     []observe.SharedCallEvent
	forgeries map[observe.Forgery]int
}

func (w *watch) SharedCall(_ context.Context, ev observe.SharedCallEvent) {
	w.mu.Lock()
	w.calls = append(w.calls, ev)
	w.mu.Unlock()
}

func (w *watch) SharedForgery(_ context.Context, f observe.Forgery) {
	w.mu.Lock()
	if w.forgeries == nil {
		w.forgeries = map[observe.Forgery]int{}
	}
	w.forgeries[f]++
	w.mu.Unlock()
}

func (w *watch) forged(f observe.Forgery) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.forgeries[f]
}

// made returns the calls made (not skipped) since mark, and the new mark.
func (w *watch) made(mark int) (made int, next int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.calls[mark:] {
		if c.Outcome != observe.SharedSkipped {
			made++
		}
	}
	return made, len(w.calls)
}

// storeName is the Redis key of a token's entry, as the attacker computes
// it from the open source: the prefix, then the hash tag.
func storeName(tok string) string {
	h := sha256.Sum256([]byte("lwa/v2/token\x00" + tok))
	return "lwa:{" + hex.EncodeToString(h[:]) + "}:e"
}

// attackerSeal seals a record claiming whatever the attacker likes, in the
// format of the open source, under a key the attacker has: the key id is
// the one given (read off a genuine value) or the attacker's own.
func attackerSeal(t *testing.T, key []byte, keyID []byte, tok, name string, record map[string]any) []byte {
	t.Helper()
	plain, err := json.Marshal(record)
	require.NoError(t, err)
	k, err := hkdf.Key(sha256.New, []byte(tok), key, "lwa/v2/seal", 32)
	require.NoError(t, err)
	block, err := aes.NewCipher(k)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	out := append([]byte{2}, keyID...)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, []byte(name))
}

// victimRecord is the verified record an attacker would like replicas to
// believe: the victim, our client ID, a far expiry.
func victimRecord() map[string]any {
	now := time.Now()
	return map[string]any{"k": "f", "u": alice.UserID, "a": lwatest.ClientID, "x": now.Add(time.Hour).UnixNano(),
		"t": now.UnixNano(), "pr": map[string]string{"user_id": alice.UserID, "email": alice.Email, "name": alice.Name}}
}

// TestForgeryWithoutTheFleetKey: an attacker who can write anything to
// Redis cannot sign in as a customer with a token of their own choosing:
// not sealed the old way (under the token alone), not under a key of their
// own, not under a genuine key id. Each attempt is a miss (Amazon is asked,
// and refuses the made-up token) and is counted.
func TestForgeryWithoutTheFleetKey(t *testing.T) {
	srv, rs, vs := fleet(t, 1)
	rdb := rs.Client(t)
	ctx := context.Background()
	w := &watch{}
	victim := replica(t, srv, rs.Client(t), core.WithObserver(w))
	verified(t, vs[0], srv.Token(alice)) // a genuine value, for its key id
	genuine := genuineValue(t, rdb)

	for name, seal := range map[string]func(tok, key string) []byte{
		"sealed under the token alone (v1)": func(tok, key string) []byte {
			k, _ := hkdf.Key(sha256.New, []byte(tok), nil, "lwa/v1/seal", 32)
			block, _ := aes.NewCipher(k)
			aead, _ := cipher.NewGCM(block)
			plain, _ := json.Marshal(victimRecord())
			out := make([]byte, 1+aead.NonceSize())
			out[0] = 1
			return aead.Seal(out, out[1:], plain, []byte(key))
		},
		"under the attacker's key": func(tok, key string) []byte {
			return attackerSeal(t, []byte("an attacker's key of at least 32 bytes"), []byte("evil"), tok, key, victimRecord())
		},
		"under a genuine key id": func(tok, key string) []byte {
			return attackerSeal(t, []byte("an attacker's key of at least 32 bytes"), genuine[1:5], tok, key, victimRecord())
		},
		"with no key at all": func(tok, key string) []byte {
			return append(append([]byte{2}, genuine[1:5]...), make([]byte, 80)...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			tok := "Atza|attacker-chosen-" + strings.ReplaceAll(name, " ", "-")
			key := storeName(tok)
			require.NoError(t, rdb.Set(ctx, key, seal(tok, key), time.Hour).Err())
			before := srv.CallCount(lwatest.EndpointTokenInfo)
			_, err := victim.Verify(ctx, tok)
			require.ErrorIs(t, err, core.ErrInvalidToken, "Amazon decided, not the forged value")
			assert.Equal(t, before+1, srv.CallCount(lwatest.EndpointTokenInfo), "the forged value was a miss")
		})
	}
	assert.GreaterOrEqual(t, w.forged(observe.ForgedValue)+w.forged(observe.Unreadable), 4, "every forgery counted")
}

// genuineValue returns a value a replica wrote.
func genuineValue(t *testing.T, rdb *redis.Client) []byte {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), "lwa:{*}:e").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	v, err := rdb.Get(context.Background(), keys[0]).Bytes()
	require.NoError(t, err)
	return v
}

// TestReplayAfterForgetAndRevoke: a genuine value put back after Forget is
// a miss (it was written before the Forget); after Revoke, even with the
// revocation record deleted, the replicas that heard the revocation keep
// refusing the token.
func TestReplayAfterForgetAndRevoke(t *testing.T) {
	srv, rs, vs := fleet(t, 2)
	a, b := vs[0], vs[1]
	rdb := rs.Client(t)
	ctx := context.Background()
	tok := srv.Token(alice)
	verified(t, a, tok)
	old, err := rdb.Get(ctx, storeName(tok)).Bytes()
	require.NoError(t, err)

	a.Forget(tok)
	require.NoError(t, rdb.Set(ctx, storeName(tok), old, time.Hour).Err()) // replayed
	c := replica(t, srv, rs.Client(t))
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	verified(t, c, tok)
	assert.Equal(t, n+1, srv.CallCount(lwatest.EndpointTokenInfo), "the replayed value was written before the Forget")

	require.NoError(t, a.Revoke(ctx, tok))
	require.Eventually(t, func() bool { _, err := b.Verify(ctx, tok); return errors.Is(err, core.ErrInvalidToken) },
		5*time.Second, time.Millisecond)
	require.NoError(t, rdb.Del(ctx, strings.TrimSuffix(storeName(tok), ":e")+":r").Err())
	require.NoError(t, rdb.Set(ctx, storeName(tok), old, time.Hour).Err())
	rejected(t, a, tok)
	rejected(t, b, tok)
}

// TestMovedAndTamperedValues: a genuine value moved to another token's key,
// or changed by one bit, is a miss, counted.
func TestMovedAndTamperedValues(t *testing.T) {
	srv, rs, vs := fleet(t, 1)
	rdb := rs.Client(t)
	ctx := context.Background()
	w := &watch{}
	other := replica(t, srv, rs.Client(t), core.WithObserver(w))
	tokA, tokB := srv.Token(alice), srv.Token(bob)
	verified(t, vs[0], tokA)
	verified(t, vs[0], tokB)
	valA, err := rdb.Get(ctx, storeName(tokA)).Bytes()
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, storeName(tokB), valA, time.Hour).Err()) // alice's value under bob's name
	valA[len(valA)-3] ^= 0x40
	require.NoError(t, rdb.Set(ctx, storeName(tokA), valA, time.Hour).Err())
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	assert.Equal(t, bob, verified(t, other, tokB))
	assert.Equal(t, alice, verified(t, other, tokA))
	assert.Equal(t, n+2, srv.CallCount(lwatest.EndpointTokenInfo), "both were misses")
	assert.Equal(t, 2, w.forged(observe.ForgedValue))
}

// TestForgedMessagesIgnored: messages published by someone without the
// fleet key (junk, a well-formed revocation under another key) are ignored
// and counted; the token they name stays accepted.
func TestForgedMessagesIgnored(t *testing.T) {
	srv, rs, _ := fleet(t, 0)
	w := &watch{}
	v := replica(t, srv, rs.Client(t), core.WithObserver(w))
	tok := srv.Token(alice)
	verified(t, v, tok)
	rdb := rs.Client(t)
	ctx := context.Background()
	key := sha256.Sum256([]byte(tok)) // the local key the attacker would aim at
	forged := make([]byte, 0, 100)
	forged = append(forged, 2, 'e', 'v', 'i', 'l', 'r')
	forged = append(forged, key[:]...)
	forged = append(forged, make([]byte, 24+16)...)
	for _, msg := range [][]byte{[]byte("junk"), forged, make([]byte, 78)} {
		require.NoError(t, rdb.Publish(ctx, redislwa.DefaultChannel, msg).Err())
	}
	require.Eventually(t, func() bool {
		return w.forged(observe.ForgedMessage)+w.forged(observe.Unreadable) >= 3
	}, 5*time.Second, time.Millisecond, "every forged message counted")
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	verified(t, v, tok)
	assert.Equal(t, n, srv.CallCount(lwatest.EndpointTokenInfo), "still cached: nothing forged was obeyed")
}

// TestForgedRevocationRecordsIgnored: revocation records and tombstones
// that do not authenticate are ignored (whoever can write them can delete
// the genuine ones anyway) and counted.
func TestForgedRevocationRecordsIgnored(t *testing.T) {
	srv, rs, vs := fleet(t, 1)
	rdb := rs.Client(t)
	ctx := context.Background()
	tok := srv.Token(alice)
	verified(t, vs[0], tok)
	tag := strings.TrimSuffix(storeName(tok), ":e")
	junk := append([]byte{2, 'e', 'v', 'i', 'l'}, make([]byte, 32)...)
	require.NoError(t, rdb.Set(ctx, tag+":r", junk, time.Hour).Err())
	require.NoError(t, rdb.Set(ctx, tag+":f", junk, time.Hour).Err())
	w := &watch{}
	other := replica(t, srv, rs.Client(t), core.WithObserver(w))
	verified(t, other, tok)
	assert.GreaterOrEqual(t, w.forged(observe.ForgedValue), 2)
}

// TestFleetKeyRotation: the keys rotate with a rolling deploy: replicas on
// neighbouring steps ([k1] → [k1,k2] → [k2,k1] → [k2]) share entries and
// messages.
func TestFleetKeyRotation(t *testing.T) {
	k1, k2 := []byte("rotation: the old key, 32 bytes or more"), []byte("rotation: the new key, 32 bytes or more")
	steps := [][][]byte{{k1}, {k1, k2}, {k2, k1}, {k2}}
	for i := 0; i+1 < len(steps); i++ {
		srv := lwatest.Start(t)
		rs := redistest.Start(t)
		old := replica(t, srv, rs.Client(t), core.WithSharedKeys(steps[i]...))
		next := replica(t, srv, rs.Client(t), core.WithSharedKeys(steps[i+1]...))
		ctx := context.Background()
		t1, t2 := srv.Token(alice), srv.Token(bob)
		verified(t, old, t1)
		verified(t, next, t2)
		n := srv.CallCount(lwatest.EndpointTokenInfo)
		verified(t, next, t1)
		verified(t, old, t2)
		assert.Equal(t, n, srv.CallCount(lwatest.EndpointTokenInfo), "step %d to %d: shared both ways", i, i+1)
		require.NoError(t, next.Revoke(ctx, t1))
		require.Eventually(t, func() bool { _, err := old.Verify(ctx, t1); return errors.Is(err, core.ErrInvalidToken) },
			5*time.Second, time.Millisecond, "step %d to %d: the revocation message is heard", i, i+1)
	}
}

// TestSharedFactsNotDecisions: the shared tier holds Amazon's facts; each
// verifier applies its own required fields and app IDs to them.
func TestSharedFactsNotDecisions(t *testing.T) {
	srv, rs, _ := fleet(t, 0)
	lax := replica(t, srv, rs.Client(t))
	strict := replica(t, srv, rs.Client(t), core.WithRequiredFields(core.FieldEmail, core.FieldPostalCode))
	ctx := context.Background()

	idOnly := srv.Token(alice, lwatest.WithScopes("profile:user_id"))
	assert.Equal(t, core.Profile{UserID: alice.UserID}, verified(t, lax, idOnly))
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	_, err := strict.Verify(ctx, idOnly)
	require.ErrorIs(t, err, core.ErrInsufficientScope, "the strict verifier applies its own fields to the shared facts")
	assert.Equal(t, n, srv.CallCount(lwatest.EndpointTokenInfo))

	noPostal := srv.Token(alice, lwatest.WithScopes("profile"))
	_, err = strict.Verify(ctx, noPostal) // a local decision: never shared
	require.ErrorIs(t, err, core.ErrInsufficientScope)
	n = srv.CallCount(lwatest.EndpointTokenInfo)
	assert.Equal(t, alice.Email, verified(t, lax, noPostal).Email, "the lax verifier accepts the same token")
	assert.Equal(t, n, srv.CallCount(lwatest.EndpointTokenInfo), "from the shared facts")

	const app = "amzn1.application.fleet"
	const tv = "amzn1.application-oa2-client.fleet-tv"
	tvTok := srv.Issue(tv, alice, lwatest.WithAppID(app))
	apps := replica(t, srv, rs.Client(t), core.WithAppID(app))
	_, err = lax.Verify(ctx, tvTok)
	require.ErrorIs(t, err, core.ErrNotOurToken)
	p, info, err := apps.VerifyInfo(ctx, tvTok)
	require.NoError(t, err, "a verifier that accepts the app is not bound by another's 404")
	assert.Equal(t, alice, p)
	assert.Equal(t, tv, info.ClientID)
	assert.Equal(t, app, info.AppID)
}

// TestRedisDownCostsOneCall: with Redis down, a verification spends at most
// one call on it, and later ones none until a probe finds it back.
func TestRedisDownCostsOneCall(t *testing.T) {
	srv := lwatest.Start(t)
	rs := redistest.Start(t)
	w := &watch{}
	v := srv.Verifier(t, core.WithSharedCache(redislwa.New(rs.Client(t))), core.WithSharedKeys(fleetKey), core.WithObserver(w))
	verified(t, v, srv.Token(alice))
	_, mark := w.made(0)
	rs.Freeze() // hanging: the worst case, every call waits out the timeout
	verified(t, v, srv.Token(alice))
	made, mark := w.made(mark)
	assert.Equal(t, 1, made, "the first verification after the hang: one call, then the tier is skipped")
	for range 20 {
		verified(t, v, srv.Token(alice))
	}
	made, _ = w.made(mark)
	assert.Zero(t, made, "later verifications skip the shared tier")
	rs.Thaw()
	require.Eventually(t, func() bool {
		verified(t, v, srv.Token(alice))
		w.mu.Lock()
		defer w.mu.Unlock()
		last := w.calls[len(w.calls)-1]
		return last.Outcome == observe.SharedOK
	}, 10*time.Second, 20*time.Millisecond, "a probe finds Redis back")
}

// TestSharedHitIsOneRoundTrip: a replica subscribed for longer than a token
// lives has heard every customer revocation that can still matter: a shared
// hit costs it one call. A replica that may have missed one also reads the
// customer's record.
func TestSharedHitIsOneRoundTrip(t *testing.T) {
	srv, rs, _ := fleet(t, 0)
	w := &watch{}
	a := replica(t, srv, rs.Client(t))
	settled := replica(t, srv, rs.Client(t), core.WithObserver(w))
	// A message reaches only a subscribed replica: once one is counted, the
	// subscription is up.
	rdb := rs.Client(t)
	require.Eventually(t, func() bool {
		require.NoError(t, rdb.Publish(context.Background(), redislwa.DefaultChannel, "hello").Err())
		return w.forged(observe.Unreadable) > 0
	}, 5*time.Second, 5*time.Millisecond)
	srv.Advance(62 * time.Minute) // the replica has been subscribed for over an hour
	fresh := &watch{}
	newcomer := replica(t, srv, rs.Client(t), core.WithObserver(fresh))
	tok := srv.Token(alice)
	verified(t, a, tok)
	_, mark := w.made(0)
	verified(t, settled, tok)
	made, _ := w.made(mark)
	assert.Equal(t, 1, made, "one round trip: entry, revocation record and tombstone together")
	_, mark = fresh.made(0)
	verified(t, newcomer, tok)
	made, _ = fresh.made(mark)
	assert.Equal(t, 2, made, "and the customer's revocation record")
}

// failUserRecords is a SharedCache whose reads of customer revocation
// records fail.
type failUserRecords struct{ core.SharedCache }

func (f failUserRecords) Get(ctx context.Context, keys ...string) ([][]byte, error) {
	for _, k := range keys {
		if strings.HasPrefix(k, "u:") {
			return nil, errors.New("unreachable")
		}
	}
	return f.SharedCache.Get(ctx, keys...)
}

// TestUnreadableRevocationRecordIsNotAHit: a shared lookup that could not
// read the customer's revocation record is a miss, not a hit.
func TestUnreadableRevocationRecordIsNotAHit(t *testing.T) {
	srv, rs, vs := fleet(t, 1)
	tok := srv.Token(alice)
	verified(t, vs[0], tok)
	broken := srv.Verifier(t, core.WithSharedCache(failUserRecords{redislwa.New(rs.Client(t), redislwa.WithTimeout(time.Second))}),
		core.WithSharedKeys(fleetKey))
	n := srv.CallCount(lwatest.EndpointTokenInfo)
	verified(t, broken, tok)
	assert.Equal(t, n+1, srv.CallCount(lwatest.EndpointTokenInfo), "Amazon was asked")
}

// TestEvictionWarning: redislwa warns once when Redis may evict the
// revocation records, and not when it may not.
func TestEvictionWarning(t *testing.T) {
	for _, c := range []struct {
		policy string
		warn   bool
	}{{"allkeys-lru", true}, {"volatile-ttl", true}, {"noeviction", false}} {
		t.Run(c.policy, func(t *testing.T) {
			srv := lwatest.Start(t)
			rs := redistest.Start(t)
			rdb := rs.Client(t)
			ctx := context.Background()
			require.NoError(t, rdb.ConfigSet(ctx, "maxmemory", "100mb").Err())
			require.NoError(t, rdb.ConfigSet(ctx, "maxmemory-policy", c.policy).Err())
			var l logs
			cache := redislwa.New(rs.Client(t), redislwa.WithLogger(slog.New(slog.NewTextHandler(&l, nil))))
			v := srv.Verifier(t, core.WithSharedCache(cache), core.WithSharedKeys(fleetKey))
			verified(t, v, srv.Token(alice))
			w := replica(t, srv, rs.Client(t)) // its message is delivered after the subscriptions are up
			require.NoError(t, w.Revoke(ctx, srv.Token(bob)))
			require.Eventually(t, func() bool { return redislwa.EvictionChecked(cache) }, 5*time.Second, time.Millisecond)
			if c.warn {
				assert.Equal(t, 1, strings.Count(l.String(), "may evict"), "one warning:\n%s", l.String())
				assert.Contains(t, l.String(), c.policy)
			} else {
				assert.NotContains(t, l.String(), "may evict")
			}
		})
	}
}

// TestLockLeftBehind: a fleet-wide lock nobody releases (its holder died,
// lost Redis, or someone wrote it) costs a verification at most half its
// timeout of waiting, then it asks Amazon itself: never a 504.
func TestLockLeftBehind(t *testing.T) {
	srv, rs, _ := fleet(t, 0)
	v := replica(t, srv, rs.Client(t), core.WithTimeout(time.Second))
	tok := srv.Token(alice)
	lock := strings.TrimSuffix(storeName(tok), ":e") + ":l"
	require.NoError(t, rs.Client(t).Set(context.Background(), lock, "1", time.Hour).Err())
	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err, "waited for the lock, then asked Amazon itself")
	assert.Equal(t, alice, p)
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))
}
