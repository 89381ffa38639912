package redistest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/internal/redistest"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // go-redis logs about servers the tests stop on purpose
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestStartClientStopRestart(t *testing.T) {
	s := redistest.Start(t)
	require.True(t, strings.HasPrefix(s.Addr(), "127.0.0.1:"))
	ctx := context.Background()
	c := s.Client(t)
	require.NoError(t, c.Set(ctx, "k", "v", time.Minute).Err())
	got, err := c.Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got)

	s.Stop()
	noRetry := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer noRetry.Close()
	require.Error(t, noRetry.Ping(ctx).Err(), "a stopped server answers nothing")

	addr := s.Addr()
	s.Restart()
	assert.Equal(t, addr, s.Addr(), "same port after Restart")
	require.NoError(t, c.Ping(ctx).Err())
	require.ErrorIs(t, c.Get(ctx, "k").Err(), redis.Nil, "persistence is off: a restart empties the keyspace")
}

func TestFreezeThaw(t *testing.T) {
	s := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), ReadTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	require.NoError(t, c.Ping(context.Background()).Err())

	s.Freeze()
	err := c.Ping(context.Background()).Err()
	require.Error(t, err, "a frozen server answers nothing")
	s.Thaw()
	require.Eventually(t, func() bool { return c.Ping(context.Background()).Err() == nil },
		5*time.Second, 10*time.Millisecond)
}

func TestDump(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "s", []byte{0, 1, 'x'}, 0).Err())
	require.NoError(t, c.RPush(ctx, "l", "a", "b").Err())
	require.NoError(t, c.HSet(ctx, "h", "f", "v").Err())
	require.NoError(t, c.SAdd(ctx, "set", "m").Err())
	require.NoError(t, c.ZAdd(ctx, "z", redis.Z{Score: 2, Member: "zm"}).Err())
	require.NoError(t, c.XAdd(ctx, &redis.XAddArgs{Stream: "x", ID: "1-1", Values: []string{"xf", "xv"}}).Err())

	d := s.Dump(t)
	assert.Equal(t, map[string][]byte{
		"s":   {0, 1, 'x'},
		"l":   []byte("a\nb"),
		"h":   []byte("f\nv"),
		"set": []byte("m"),
		"z":   []byte("zm\n2"),
		"x":   []byte("1-1\nxf\nxv"),
	}, d)
}

func TestMonitorSeesEveryCommand(t *testing.T) {
	s := redistest.Start(t)
	c := s.Client(t)
	ctx := context.Background()
	stop := s.Monitor(t)
	for i := range 50 {
		require.NoError(t, c.Set(ctx, fmt.Sprint("key", i), fmt.Sprint("value", i), 0).Err())
	}
	lines := stop()
	joined := strings.Join(lines, "\n")
	for i := range 50 {
		assert.Contains(t, joined, fmt.Sprintf(`"key%d" "value%d"`, i, i))
	}
	assert.NotContains(t, joined, "redistest-monitor-end", "the end marker is not reported")
	assert.Equal(t, lines, stop(), "stop is idempotent")
}

func TestCluster(t *testing.T) {
	t.Parallel() // a cluster node turns ok 2 s after it starts: overlap that
	s := redistest.StartCluster(t)
	cc := s.ClusterClient(t)
	ctx := context.Background()
	// Keys in different slots work through the cluster client.
	for _, k := range []string{"a", "b", "c", "{t}x", "{t}y"} {
		require.NoError(t, cc.Set(ctx, k, k, 0).Err())
	}
	vals, err := cc.MGet(ctx, "{t}x", "{t}y").Result()
	require.NoError(t, err)
	assert.Equal(t, []any{"{t}x", "{t}y"}, vals)
	assert.Len(t, s.Dump(t), 5)

	s.Restart()
	require.Eventually(t, func() bool { return cc.Set(ctx, "a", "again", 0).Err() == nil },
		10*time.Second, 10*time.Millisecond, "the cluster serves again after a restart")
}

func TestSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	c := sentinel.FailoverClient(t)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "through sentinel", 0).Err())
	got, err := master.Client(t).Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "through sentinel", got)
}

// fatalTB records Fatalf and ends the goroutine like testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func TestMissingBinaryFailsNeverSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(f)
	}()
	<-done
	assert.Contains(t, f.msg, "redis-server not found on PATH")
	assert.False(t, t.Skipped())
}
