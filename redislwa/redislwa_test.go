package redislwa_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/redislwa"
)

var bg = context.Background()

func TestSetGetDeleteTTL(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	c := newCache(rdb)

	require.NoError(t, c.Set(bg, "v1:{t}", []byte("sealed\x00\xff"), time.Minute))
	got, err := c.Get(bg, "v1:{t}")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("sealed\x00\xff")}, got)

	assert.Equal(t, map[string][]byte{"lwa:v1:{t}": []byte("sealed\x00\xff")}, s.Dump(t),
		"stored under the default prefix, value as given")
	pttl, err := rdb.PTTL(bg, "lwa:v1:{t}").Result()
	require.NoError(t, err)
	assert.True(t, pttl > 50*time.Second && pttl <= time.Minute, "PTTL %v", pttl)

	require.NoError(t, c.Delete(bg, "v1:{t}", "missing:{t}"), "a missing key is not an error")
	got, err = c.Get(bg, "v1:{t}")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{nil}, got)
	assert.Empty(t, s.Dump(t))

	got, err = c.Get(bg)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, c.Delete(bg))
}

func TestTTLMillisecondsAndNeverForever(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	c := newCache(rdb)

	stop := s.Monitor(t)
	require.NoError(t, c.Set(bg, "a", []byte("x"), 90500*time.Millisecond))
	ok, err := c.SetNX(bg, "b", []byte("x"), 1500*time.Microsecond+time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	lines := strings.Join(stop(), "\n")
	assert.Contains(t, lines, `"set" "lwa:a" "x" "px" "90500"`)
	assert.Contains(t, lines, `"set" "lwa:b" "x" "nx" "px" "60002"`, "rounded up to a whole millisecond")

	pttl, err := rdb.PTTL(bg, "lwa:a").Result()
	require.NoError(t, err)
	assert.True(t, pttl > 80*time.Second && pttl <= 90500*time.Millisecond, "PTTL %v", pttl)

	for _, ttl := range []time.Duration{0, -time.Second} {
		require.Error(t, c.Set(bg, "c", []byte("x"), ttl))
		_, err := c.SetNX(bg, "c", []byte("x"), ttl)
		require.Error(t, err)
	}
	n, err := rdb.Exists(bg, "lwa:c").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is stored without an expiry")
}

func TestSetNX(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	c := newCache(rdb)

	ok, err := c.SetNX(bg, "lock:{t}", []byte("me"), 10*time.Second)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = c.SetNX(bg, "lock:{t}", []byte("other"), 20*time.Second)
	require.NoError(t, err)
	assert.False(t, ok, "the key holds something")

	got, err := c.Get(bg, "lock:{t}")
	require.NoError(t, err)
	assert.Equal(t, "me", string(got[0]), "the second SetNX changed nothing")
	pttl, err := rdb.PTTL(bg, "lwa:lock:{t}").Result()
	require.NoError(t, err)
	assert.True(t, pttl > 0 && pttl <= 10*time.Second, "PTTL %v", pttl)

	require.NoError(t, c.Delete(bg, "lock:{t}"))
	ok, err = c.SetNX(bg, "lock:{t}", []byte("next"), 10*time.Second)
	require.NoError(t, err)
	assert.True(t, ok)

	// Set replaces, whatever the key held.
	require.NoError(t, c.Set(bg, "lock:{t}", []byte("replaced"), time.Second))
	got, err = c.Get(bg, "lock:{t}")
	require.NoError(t, err)
	assert.Equal(t, "replaced", string(got[0]))
}

func TestGetOrderWithMissingKeys(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := newCache(s.Client(t))
	require.NoError(t, c.Set(bg, "a:{t}", []byte("A"), time.Minute))
	require.NoError(t, c.Set(bg, "c:{t}", []byte("C"), time.Minute))

	stop := s.Monitor(t)
	got, err := c.Get(bg, "missing1:{t}", "a:{t}", "b:{t}", "c:{t}", "missing2:{t}")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{nil, []byte("A"), nil, []byte("C"), nil}, got)
	lines := stop()
	require.Len(t, lines, 1, "one command: %q", lines)
	assert.Contains(t, lines[0], `"mget" "lwa:missing1:{t}" "lwa:a:{t}"`)
}

func TestPrefixAndChannelOptions(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	app1 := newCache(rdb, redislwa.WithPrefix("app1:"), redislwa.WithChannel("app1:inv"))
	app2 := newCache(rdb, redislwa.WithPrefix("app2:"), redislwa.WithChannel("app2:inv"))

	require.NoError(t, app1.Set(bg, "k", []byte("one"), time.Minute))
	require.NoError(t, app2.Set(bg, "k", []byte("two"), time.Minute))
	assert.Equal(t, map[string][]byte{"app1:k": []byte("one"), "app2:k": []byte("two")}, s.Dump(t))

	got1 := collect(t, app1)
	got2 := collect(t, app2)
	got1.waitReset(t, 1)
	got2.waitReset(t, 1)
	stop := s.Monitor(t)
	require.NoError(t, app1.Publish(bg, []byte("for app1")))
	assert.Contains(t, strings.Join(stop(), "\n"), `"publish" "app1:inv" "for app1"`)
	got1.waitMessages(t, "for app1")
	require.NoError(t, app2.Publish(bg, []byte("for app2")))
	got2.waitMessages(t, "for app2")
	assert.Equal(t, []string{"for app1"}, got1.messages(), "app1 never sees app2's channel")
}

// A key holding another type (something else wrote there) reads as a miss,
// never a panic nor a value.
func TestNonStringValueIsAMiss(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	rdb := s.Client(t)
	c := newCache(rdb)
	require.NoError(t, rdb.RPush(bg, "lwa:list:{t}", "a", "b").Err())
	require.NoError(t, rdb.HSet(bg, "lwa:hash:{t}", "f", "v").Err())
	require.NoError(t, c.Set(bg, "str:{t}", []byte("s"), time.Minute))

	got, err := c.Get(bg, "list:{t}", "str:{t}", "hash:{t}")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{nil, []byte("s"), nil}, got)

	ok, err := c.SetNX(bg, "list:{t}", []byte("x"), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "the key holds something")
	require.NoError(t, c.Delete(bg, "list:{t}", "hash:{t}"))
}

func TestCluster(t *testing.T) {
	t.Parallel()
	s := redistest.StartCluster(t)
	cc := s.ClusterClient(t)
	c := newCache(cc)

	// Keys of one token: one hash tag, one slot, one MGET.
	require.NoError(t, c.Set(bg, "p:{tok1}", []byte("P"), time.Minute))
	require.NoError(t, c.Set(bg, "r:{tok1}", []byte("R"), time.Minute))
	stop := s.Monitor(t)
	got, err := c.Get(bg, "p:{tok1}", "x:{tok1}", "r:{tok1}")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("P"), nil, []byte("R")}, got)
	lines := stop()
	require.Len(t, lines, 1, "%q", lines)
	assert.Contains(t, lines[0], `"mget"`)

	// Keys in different slots: GETs in a pipeline, never CROSSSLOT.
	keys := []string{"a", "b", "c", "{tok2}d", "p:{tok1}"}
	require.NotEqual(t, redislwa.Slot("lwa:a"), redislwa.Slot("lwa:b"))
	for _, k := range keys[:3] {
		require.NoError(t, c.Set(bg, k, []byte("v"+k), time.Minute))
	}
	require.NoError(t, cc.RPush(bg, "lwa:{tok2}d", "list").Err())
	stop = s.Monitor(t)
	got, err = c.Get(bg, keys...)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("va"), []byte("vb"), []byte("vc"), nil, []byte("P")}, got)
	joined := strings.Join(stop(), "\n")
	assert.NotContains(t, joined, `"mget"`)
	assert.Equal(t, len(keys), strings.Count(joined, `"get"`), joined)

	ok, err := c.SetNX(bg, "a", []byte("x"), time.Minute)
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, c.Delete(bg, keys...))
	require.NoError(t, c.Delete(bg, "r:{tok1}", "nothing:{tok1}"))
	assert.Empty(t, s.Dump(t))

	// Publish and Subscribe through the cluster client.
	got1 := collect(t, c)
	got1.waitReset(t, 1)
	require.NoError(t, c.Publish(bg, []byte("hello")))
	got1.waitMessages(t, "hello")
}

// Behind Sentinel, the user's failover client is a *redis.Client: one MGET.
func TestSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	c := newCache(sentinel.FailoverClient(t))

	require.NoError(t, c.Set(bg, "a:{t}", []byte("A"), time.Minute))
	ok, err := c.SetNX(bg, "b:{t}", []byte("B"), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	got, err := c.Get(bg, "a:{t}", "b:{t}", "c:{t}")
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("A"), []byte("B"), nil}, got)
	assert.Len(t, master.Dump(t), 2, "written to the master the Sentinel names")

	rec := collect(t, c)
	rec.waitReset(t, 1)
	require.NoError(t, c.Publish(bg, []byte("via sentinel")))
	rec.waitMessages(t, "via sentinel")
	require.NoError(t, c.Delete(bg, "a:{t}", "b:{t}"))
	assert.Empty(t, master.Dump(t))
}

// Redis Cluster's own CLUSTER KEYSLOT agrees with the slot computation that
// decides between MGET and per-key GETs.
func TestSlotMatchesRedis(t *testing.T) {
	t.Parallel()
	s := redistest.StartCluster(t)
	rdb := s.Client(t)
	keys := []string{"", "a", "foo", "123456789", "{user1000}.following", "x{}y", "{}{a}", "a{b}c{d}", "{", "}{x}", "lwa:v1:{3q2+7w==}", "\xff\x00{\x01}"}
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("lwa:k%d:{%x}", i, i*7919))
	}
	for _, k := range keys {
		want, err := rdb.ClusterKeySlot(bg, k).Result()
		require.NoError(t, err)
		assert.Equal(t, uint16(want), redislwa.Slot(k), "key %q", k)
	}
}

func TestPublishReachesEverySubscriber(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	// Two replicas, each with its own client.
	r1 := newCache(s.Client(t))
	r2 := newCache(s.Client(t))
	got1, got2 := collect(t, r1), collect(t, r2)
	got1.waitReset(t, 1)
	got2.waitReset(t, 1)

	require.NoError(t, r1.Publish(bg, []byte("forget:\x00\x01")))
	require.NoError(t, r2.Publish(bg, []byte("second")))
	got1.waitMessages(t, "forget:\x00\x01", "second")
	got2.waitMessages(t, "forget:\x00\x01", "second")
	assert.Equal(t, 1, got1.resetCount())
}

func TestSubscribeResetsAfterRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := newCache(s.Client(t))
	got := collect(t, c)
	got.waitReset(t, 1)

	s.Restart()
	got.waitReset(t, 2)
	// The client's pooled connections died with the server: go-redis
	// retries, but maybe not within 50 ms on the first call.
	require.Eventually(t, func() bool { return c.Publish(bg, []byte("after restart")) == nil },
		5*time.Second, 10*time.Millisecond)
	got.waitMessages(t, "after restart")

	// Down for a while: the loop backs off, then subscribes again.
	s.Stop()
	s.Restart()
	got.waitReset(t, 3)
	require.Eventually(t, func() bool { return c.Publish(bg, []byte("again")) == nil },
		5*time.Second, 10*time.Millisecond)
	got.waitMessages(t, "after restart", "again")
}

// A connection that answers nothing, not even a PING, is replaced (a
// half-open connection would otherwise lose every message unnoticed), and
// the new subscription calls onReset.
func TestSubscribeReplacesSilentConnection(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := newCache(s.Client(t))
	redislwa.SetHealthInterval(c, 20*time.Millisecond)
	var silent atomic.Int32
	redislwa.SetSilentHook(c, func() { silent.Add(1) })
	got := collect(t, c)
	got.waitReset(t, 1)

	s.Freeze()
	require.Eventually(t, func() bool { return silent.Load() > 0 }, 10*time.Second, time.Millisecond)
	s.Thaw()
	got.waitReset(t, 2)
	require.NoError(t, c.Publish(bg, []byte("still here")))
	got.waitMessages(t, "still here")
}

func TestStopWhileServerDown(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := newCache(s.Client(t))
	var resets atomic.Int32
	stop := c.Subscribe(func([]byte) {}, func() { resets.Add(1) })
	require.Eventually(t, func() bool { return resets.Load() == 1 }, 5*time.Second, time.Millisecond)
	s.Stop()
	start := time.Now()
	stop()
	stop() // idempotent
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestStopWhileServerHangs(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := newCache(s.Client(t))
	var resets atomic.Int32
	stop := c.Subscribe(func([]byte) {}, func() { resets.Add(1) })
	require.Eventually(t, func() bool { return resets.Load() == 1 }, 5*time.Second, time.Millisecond)
	s.Freeze()
	defer s.Thaw()
	start := time.Now()
	stop()
	assert.Less(t, time.Since(start), time.Second)
}

// With Redis hanging, every call returns within about the timeout, and the
// goroutines it left behind end once Redis answers again.
func TestTimeoutWhenRedisHangs(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	c := redislwa.New(rdb, redislwa.WithTimeout(50*time.Millisecond))
	require.NoError(t, rdb.Set(bg, "lwa:k", "v", time.Minute).Err())
	before := runtime.NumGoroutine()

	s.Freeze()
	calls := map[string]func() error{
		"Get":     func() error { _, err := c.Get(bg, "k", "k2"); return err },
		"Set":     func() error { return c.Set(bg, "k", []byte("v"), time.Minute) },
		"SetNX":   func() error { _, err := c.SetNX(bg, "k", []byte("v"), time.Minute); return err },
		"Delete":  func() error { return c.Delete(bg, "k") },
		"Publish": func() error { return c.Publish(bg, []byte("m")) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		elapsed := time.Since(start)
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.Less(t, elapsed, time.Second, name)
		assert.NotContains(t, err.Error(), "\"v\"", name)
	}
	s.Thaw()
	waitGoroutines(t, before)
	require.Eventually(t, func() bool { return c.Set(bg, "k", []byte("after"), time.Minute) == nil },
		10*time.Second, 5*time.Millisecond, "the cache works again")
}

func TestMaxInFlightFailsFast(t *testing.T) {
	s := redistest.Start(t)
	rdb := s.Client(t)
	c := redislwa.New(rdb, redislwa.WithTimeout(20*time.Millisecond), redislwa.WithMaxInFlight(2))
	require.NoError(t, rdb.Ping(bg).Err())

	s.Freeze()
	for range 2 {
		_, err := c.Get(bg, "k")
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	_, err := c.Get(bg, "k")
	require.ErrorIs(t, err, redislwa.ErrTooManyCalls, "fails at once, without waiting for the timeout")
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	s.Thaw()
	require.Eventually(t, func() bool { _, err := c.Get(bg, "k"); return err == nil },
		10*time.Second, 5*time.Millisecond)
}

func TestCallerContext(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	c := redislwa.New(s.Client(t), redislwa.WithTimeout(time.Minute))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	stop := s.Monitor(t)
	_, err := c.Get(ctx, "k")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, c.Set(ctx, "k", []byte("v"), time.Second), context.Canceled)
	assert.Empty(t, stop(), "a cancelled call sends nothing")

	// The caller's deadline applies when it is shorter than WithTimeout.
	s.Freeze()
	defer s.Thaw()
	ctx, cancel = context.WithTimeout(bg, 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Get(ctx, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
}

func TestErrorsCarryNoValues(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	const secret = "sealed-secret-value"

	// Redis' own error replies pass through (they never quote values).
	rdb := s.Client(t)
	require.NoError(t, rdb.RPush(bg, "list", secret).Err())
	wrongType := rdb.Incr(bg, "list").Err()
	require.Error(t, wrongType)
	assert.Equal(t, wrongType, redislwa.Sanitize(wrongType))
	assert.ErrorIs(t, redislwa.Sanitize(redis.ErrClosed), redis.ErrClosed)
	assert.Equal(t, context.DeadlineExceeded, redislwa.Sanitize(context.DeadlineExceeded))
	// An error the client builds from reply bytes is replaced, not passed on.
	parse := fmt.Errorf("redis: can't parse %q", secret)
	assert.NotContains(t, redislwa.Sanitize(parse).Error(), secret)

	// Network errors name the server, never the value.
	c := redislwa.New(redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialerRetries: 1}),
		redislwa.WithTimeout(time.Second))
	defer redislwa.RdbOf(c).Close()
	s.Stop()
	err := c.Set(bg, "k", []byte(secret), time.Minute)
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the client's own error, not a timeout")
	assert.NotContains(t, err.Error(), secret)
	assert.True(t, strings.HasPrefix(err.Error(), "redislwa: SET: "), err.Error())
	err = c.Publish(bg, []byte(secret))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}

// recorder collects what a Subscribe delivers.
type recorder struct {
	mu     sync.Mutex
	msgs   []string
	resets int
}

func collect(t *testing.T, c *redislwa.Cache) *recorder {
	r := &recorder{}
	stop := c.Subscribe(func(m []byte) {
		r.mu.Lock()
		r.msgs = append(r.msgs, string(m))
		r.mu.Unlock()
	}, func() {
		r.mu.Lock()
		r.resets++
		r.mu.Unlock()
	})
	t.Cleanup(stop)
	return r
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func (r *recorder) resetCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resets
}

func (r *recorder) waitReset(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return r.resetCount() >= n }, 10*time.Second, time.Millisecond,
		"want %d resets, have %d", n, r.resetCount())
}

func (r *recorder) waitMessages(t *testing.T, want ...string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.messages()) >= len(want) }, 10*time.Second, time.Millisecond)
	assert.Equal(t, want, r.messages())
}

// waitGoroutines polls, from the test's goroutine (require.Eventually runs
// its condition on goroutines of its own), until at most n goroutines run.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling interval
	}
}

// newCache is New with a generous timeout, for tests of what the calls do
// (not of how long they may take): a loaded -race run must not turn a slow
// first call into a flaky failure.
func newCache(rdb redis.UniversalClient, opts ...redislwa.Option) *redislwa.Cache {
	return redislwa.New(rdb, append([]redislwa.Option{redislwa.WithTimeout(5 * time.Second)}, opts...)...)
}
