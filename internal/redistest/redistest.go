package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-lwa/lwa/internal/proctest"
	"github.com/redis/go-redis/v9"
)

// readyTimeout bounds how long Start, StartCluster and Restart wait for the
// server to answer PING (and, for a cluster, to report cluster_state:ok).
const readyTimeout = 15 * time.Second

// Server is one redis-server process owned by a test. It is stopped, and its
// process waited for, when the test ends.
type Server struct {
	tb      testing.TB
	bin     string
	dir     string
	port    int
	busPort int // cluster bus port; 0 for a plain server
	cluster bool
	master  *Server // for a Sentinel: the master it monitors

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	out    *proctest.Output
}

// Start runs a fresh redis-server on a free loopback port, with persistence
// off and its working directory in t.TempDir(), and waits until it answers
// PING. The server is stopped when the test ends. It fails the test (never
// skips) when redis-server is not on PATH.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartCluster is Start for a one-node Redis Cluster: cluster mode on, all
// 16384 slots assigned to the node, and cluster_state:ok before it returns.
// Use ClusterClient to talk to it as a cluster.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, cluster bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH: install it (apt-get install redis-server); CI (.ci/run) must install it too: %v", err)
		return nil
	}
	s := &Server{tb: t, bin: bin, dir: t.TempDir(), cluster: cluster}
	t.Cleanup(s.Stop)

	// A free port can be taken by someone else between the probe and
	// redis-server's bind: try a few.
	var lastErr error
	for range 5 {
		if s.port, err = proctest.FreePort(); err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		if cluster {
			if s.busPort, err = proctest.FreePort(); err != nil {
				t.Fatalf("redistest: no free port: %v", err)
			}
		}
		if lastErr = s.launch(); lastErr == nil {
			break
		}
		s.Stop()
	}
	if lastErr != nil {
		t.Fatalf("redistest: %v", lastErr)
	}
	if cluster {
		if _, err := doOnce(s.Addr(), time.Second, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
			t.Fatalf("redistest: CLUSTER ADDSLOTSRANGE: %v", err)
		}
		if err := s.waitClusterOK(); err != nil {
			t.Fatalf("redistest: %v", err)
		}
	}
	return s
}

// SentinelMaster is the name under which a Sentinel started by
// StartSentinel knows its master.
const SentinelMaster = "mymaster"

// StartSentinel runs a Redis Sentinel (redis-server --sentinel) that
// monitors master (quorum 1) and waits until it reports master's address.
// Use FailoverClient to talk to master through it, as an application
// behind Sentinel does.
func StartSentinel(t testing.TB, master *Server) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH: install it (apt-get install redis-server); CI (.ci/run) must install it too: %v", err)
		return nil
	}
	s := &Server{tb: t, bin: bin, dir: t.TempDir(), master: master}
	t.Cleanup(s.Stop)
	var lastErr error
	for range 5 {
		if s.port, err = proctest.FreePort(); err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\nloglevel warning\n"+
			"sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 1000\n",
			s.port, s.dir, SentinelMaster, master.port, SentinelMaster)
		if err := os.WriteFile(filepath.Join(s.dir, "sentinel.conf"), []byte(conf), 0o600); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if lastErr = s.launch(); lastErr == nil {
			break
		}
		s.Stop()
	}
	if lastErr != nil {
		t.Fatalf("redistest: sentinel: %v", lastErr)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		r, err := doOnce(s.Addr(), 500*time.Millisecond, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
		if a, ok := r.([]any); err == nil && ok && len(a) == 2 && a[1] == strconv.Itoa(master.port) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: sentinel does not report its master within %v: %v %v", readyTimeout, r, err)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// FailoverClient returns a go-redis failover client that finds the master
// through this Sentinel (started with StartSentinel), closed when t ends.
func (s *Server) FailoverClient(t testing.TB) *redis.Client {
	t.Helper()
	if s.master == nil {
		t.Fatalf("redistest: FailoverClient on a server not started with StartSentinel")
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    SentinelMaster,
		SentinelAddrs: []string{s.Addr()},
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (s *Server) args() []string {
	if s.master != nil {
		return []string{filepath.Join(s.dir, "sentinel.conf"), "--sentinel"}
	}
	a := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
		"--protected-mode", "no",
	}
	if s.cluster {
		a = append(a,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes.conf"),
			"--cluster-port", strconv.Itoa(s.busPort),
			"--cluster-announce-ip", "127.0.0.1",
		)
	}
	return a
}

// launch starts the process and waits until it answers PING; on failure
// the process may still be running (the caller stops it).
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args()...)
	out := &proctest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.mu.Unlock()
	return s.waitReady(exited, out)
}

// waitReady polls PING until the server answers PONG, the process exits,
// or readyTimeout passes.
func (s *Server) waitReady(exited <-chan struct{}, out *proctest.Output) error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited before answering: %s", s.port, out.String())
		default:
		}
		r, err := doOnce(s.Addr(), 500*time.Millisecond, "PING")
		if err == nil && r == "PONG" {
			return nil
		}
		lastErr = err
		select {
		case <-exited:
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("redis-server on port %d did not answer PING within %v (last error: %v): %s", s.port, readyTimeout, lastErr, out.String())
}

func (s *Server) waitClusterOK() error {
	deadline := time.Now().Add(readyTimeout)
	var last any
	for time.Now().Before(deadline) {
		r, err := doOnce(s.Addr(), 500*time.Millisecond, "CLUSTER", "INFO")
		if info, ok := r.(string); err == nil && ok && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		last = r
		if err != nil {
			last = err
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an effect
	}
	return fmt.Errorf("cluster on port %d not ok within %v: %v", s.port, readyTimeout, last)
}

// Addr is the server's "127.0.0.1:port" address. It stays the same across
// Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Client returns a go-redis client for the server (a plain one, also for a
// cluster node), closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ClusterClient returns a go-redis cluster client for a server started with
// StartCluster, closed when t ends.
func (s *Server) ClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	if !s.cluster {
		t.Fatalf("redistest: ClusterClient on a server not started with StartCluster")
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr()}})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server (SIGKILL, also when frozen) and waits for the
// process to end. Clients see their connections drop. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart stops the server if it runs, starts it again on the same port
// and directory (an empty keyspace: persistence is off) and waits until it
// answers (for a cluster node, until cluster_state:ok again).
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.launch(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
	if s.cluster {
		if err := s.waitClusterOK(); err != nil {
			s.tb.Fatalf("redistest: restart: %v", err)
		}
	}
}

// Freeze suspends the server process (SIGSTOP): connections stay open and
// new ones are even accepted by the kernel, but nothing is answered — the
// most faithful "hanging Redis". Thaw resumes it; the test's cleanup thaws
// and stops it anyway.
func (s *Server) Freeze() { s.signal(true) }

// Thaw resumes a server suspended by Freeze (SIGCONT); it then answers
// everything it received meanwhile.
func (s *Server) Thaw() { s.signal(false) }

func (s *Server) signal(freeze bool) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.tb.Fatalf("redistest: Freeze/Thaw on a stopped server")
		return
	}
	if err := sendStopCont(s.cmd.Process, freeze); err != nil {
		s.tb.Fatalf("redistest: signal redis-server: %v", err)
	}
}

// Dump returns every key of the server with its content, for plaintext
// audits: a string's value as is; for other types their members joined by
// "\n" (a hash as field, value, field, value; a sorted set as member, score;
// a stream as id, field, value, ...).
func (s *Server) Dump(t testing.TB) map[string][]byte {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	out := map[string][]byte{}
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			t.Fatalf("redistest: SCAN: %v", err)
		}
		for _, k := range keys {
			v, err := dumpKey(ctx, c, k)
			if errors.Is(err, redis.Nil) {
				continue // expired between SCAN and the read
			}
			if err != nil {
				t.Fatalf("redistest: dump a key: %v", err)
			}
			out[k] = v
		}
		if cursor = next; cursor == 0 {
			return out
		}
	}
}

func dumpKey(ctx context.Context, c *redis.Client, k string) ([]byte, error) {
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return nil, err
	}
	join := func(ss []string, err error) ([]byte, error) {
		return []byte(strings.Join(ss, "\n")), err
	}
	switch typ {
	case "none":
		return nil, redis.Nil
	case "string":
		return c.Get(ctx, k).Bytes()
	case "list":
		return join(c.LRange(ctx, k, 0, -1).Result())
	case "set":
		return join(c.SMembers(ctx, k).Result())
	case "hash":
		m, err := c.HGetAll(ctx, k).Result()
		ss := make([]string, 0, 2*len(m))
		for f, v := range m {
			ss = append(ss, f, v)
		}
		return join(ss, err)
	case "zset":
		zs, err := c.ZRangeWithScores(ctx, k, 0, -1).Result()
		ss := make([]string, 0, 2*len(zs))
		for _, z := range zs {
			ss = append(ss, fmt.Sprint(z.Member), strconv.FormatFloat(z.Score, 'g', -1, 64))
		}
		return join(ss, err)
	case "stream":
		xs, err := c.XRange(ctx, k, "-", "+").Result()
		var ss []string
		for _, x := range xs {
			ss = append(ss, x.ID)
			for f, v := range x.Values {
				ss = append(ss, f, fmt.Sprint(v))
			}
		}
		return join(ss, err)
	default:
		return nil, fmt.Errorf("redistest: unsupported type %q", typ)
	}
}

// Monitor starts recording every command the server receives (MONITOR on
// a connection of its own). The returned stop function makes sure every
// command that completed before it was called has been recorded, ends the
// recording and returns the lines as Redis reports them, e.g.
//
//	1700000000.123456 [0 127.0.0.1:50000] "SET" "lwa:k{t}" "\x01\x02" "PX" "60000"
//
// (binary bytes are shown escaped as \xNN). Assert that no line contains a
// secret.
func (s *Server) Monitor(t testing.TB) (stop func() []string) {
	t.Helper()
	c, err := dial(s.Addr(), time.Second)
	if err != nil {
		t.Fatalf("redistest: monitor: %v", err)
	}
	if r, err := c.do(time.Second, "MONITOR"); err != nil || r != "OK" {
		_ = c.close()
		t.Fatalf("redistest: MONITOR: %v %v", r, err)
	}
	marker := fmt.Sprintf("redistest-monitor-end-%d", time.Now().UnixNano())
	var (
		mu    sync.Mutex
		lines []string
	)
	sawMarker := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := false
		for {
			l, err := c.line()
			if err != nil {
				return
			}
			l = strings.TrimPrefix(l, "+")
			if strings.Contains(l, marker) {
				if !seen {
					seen = true
					close(sawMarker)
				}
				continue
			}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}
	}()
	var once sync.Once
	var result []string
	t.Cleanup(func() { _ = c.close(); <-done })
	return func() []string {
		once.Do(func() {
			// MONITOR reports commands in the order the server runs
			// them: once our marker shows up, everything before it is in.
			if _, err := doOnce(s.Addr(), time.Second, "ECHO", marker); err == nil {
				select {
				case <-sawMarker:
				case <-time.After(5 * time.Second):
				}
			}
			_ = c.close()
			<-done
			mu.Lock()
			result = append([]string(nil), lines...)
			mu.Unlock()
		})
		return result
	}
}
