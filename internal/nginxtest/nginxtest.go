package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-lwa/lwa/internal/proctest"
)

// readyTimeout bounds how long Start waits for nginx to accept connections.
const readyTimeout = 15 * time.Second

// Config is what a test's nginx runs: the content of its http {} block and
// the files it includes, for the port nginx will listen on.
type Config func(port int) (http string, files map[string]string)

// Server is one nginx master process (with its workers) owned by a test.
type Server struct {
	tb   testing.TB
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *proctest.Output
}

// Start runs nginx with one worker process: the http {} block and files
// that cfg returns for a free loopback port, inside a prolog of its own
// (pid, error log, temporary paths in t.TempDir(), access log off). Paths
// in files are relative to the configuration's directory, which is also
// where relative include directives look. Start waits until nginx accepts
// connections on the port; nginx is stopped when the test ends. It fails
// the test (never skips) when nginx is not installed or does not start.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := findNginx()
	if bin == "" {
		t.Fatalf("nginx not found on PATH nor in /usr/sbin: install it (apt-get install nginx; Debian's package has the auth_request module); CI (.ci/run) installs it")
		return nil
	}
	s := &Server{tb: t, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	var lastErr error
	for range 5 { // a free port can be taken between the probe and nginx's bind
		port, err := proctest.FreePort()
		if err != nil {
			t.Fatalf("nginxtest: no free port: %v", err)
		}
		s.port = port
		if err := s.write(cfg); err != nil {
			t.Fatalf("nginxtest: %v", err)
		}
		if lastErr = s.launch(bin); lastErr == nil {
			return s
		}
		s.Stop()
		if !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("nginxtest: %v", lastErr)
	return nil
}

func findNginx() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// write writes nginx.conf and the files of cfg into the directory.
func (s *Server) write(cfg Config) error {
	http, files := cfg(s.port)
	for name, content := range files {
		p := filepath.Join(s.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	tmp := filepath.Join(s.dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    proxy_max_temp_file_size 0;
%[3]s
}
`, s.dir, tmp, http)
	return os.WriteFile(filepath.Join(s.dir, "nginx.conf"), []byte(conf), 0o644)
}

// launch starts nginx and waits until it accepts connections; on failure
// the process may still run (the caller stops it).
func (s *Server) launch(bin string) error {
	cmd := exec.Command(bin, "-p", s.dir, "-c", filepath.Join(s.dir, "nginx.conf"))
	out := &proctest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("nginx exited before accepting connections: %s%s", out, s.ErrorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
		case <-time.After(5 * time.Millisecond): // polling interval
		}
	}
	return fmt.Errorf("nginx did not accept connections on %s within %v: %s%s", s.Addr(), readyTimeout, out, s.ErrorLog())
}

// Addr is nginx's "127.0.0.1:port" address.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is "http://127.0.0.1:port".
func (s *Server) URL() string { return "http://" + s.Addr() }

// Port is the port nginx listens on.
func (s *Server) Port() int { return s.port }

// ErrorLog returns nginx's error log so far (warnings and errors).
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	return string(b)
}

// Stop stops nginx (SIGTERM: the master stops its workers; SIGKILL after
// 10 s) and waits for the master to exit. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}
