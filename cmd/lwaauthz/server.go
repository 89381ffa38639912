package main

// The HTTP servers: the decision and revocation endpoints on -addr, the
// operational ones (/healthz, /readyz, /metrics) on -admin-addr, and their
// graceful shutdown.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-lwa/lwa/core"
)

// server is lwaauthz's handlers and what they need.
type server struct {
	cfg      *config
	log      *slog.Logger
	rdb      *redis.Client // nil without -redis
	nginx    *decisions
	forward  *decisions
	revoke   *revocations
	metrics  http.Handler
	admin    http.Handler // the operational endpoints
	draining atomic.Bool  // shutting down: /readyz answers 503
}

func newServer(c *config, v *core.Verifier, rdb *redis.Client, metrics http.Handler, log *slog.Logger) *server {
	s := &server{
		cfg:     c,
		log:     log,
		rdb:     rdb,
		nginx:   newDecisions(v, c, true),
		forward: newDecisions(v, c, false),
		revoke:  newRevocations(v, c, log),
		metrics: metrics,
	}
	s.admin = s.adminHandler()
	return s
}

// handler routes -addr's requests; with admin, the operational endpoints
// too. It matches paths exactly, without cleaning them (http.ServeMux
// would redirect an Envoy check of "/auth//x" instead of answering it).
func (s *server) handler(admin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == pathNginx:
			s.nginx.serveNginx(w, r)
		case p == pathForward || strings.HasPrefix(p, pathForwardTree):
			s.forward.serveForward(w, r)
		case p == pathRevoke:
			s.revoke.serve(w, r, false)
		case p == pathRevokeUser:
			s.revoke.serve(w, r, true)
		case admin:
			s.admin.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// adminHandler serves the operational endpoints.
func (s *server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics)
	return mux
}

// readyz answers 200 while serving and 503 once shutting down. It reports
// whether Redis answers but does not fail on it: without Redis, decisions
// go on (each replica asks Amazon itself; revocations made on other
// replicas reach this one only once Redis is back, or after
// -local-cache-ttl), which beats failing every request at the proxy.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	body := map[string]string{"status": "ready", "redis": "off"}
	status := http.StatusOK
	if s.draining.Load() {
		body["status"], status = "draining", http.StatusServiceUnavailable
	}
	if s.rdb != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 500*time.Millisecond)
		defer cancel()
		body["redis"] = "ok"
		if err := s.rdb.Ping(ctx).Err(); err != nil {
			body["redis"] = "unreachable"
		}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// listening is where a started lwaauthz accepts connections.
type listening struct {
	addr  string // decisions and revocations
	admin string // operational endpoints; "" when they are on addr
}

// serve listens on the configured addresses, calls started (when not nil)
// once both accept connections, and serves until ctx ends; then /readyz
// answers 503 for -shutdown-delay, the listeners close, and in-flight
// requests get -shutdown-timeout to finish.
func (s *server) serve(ctx context.Context, started func(listening)) error {
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	newSrv := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errLog}
	}
	ln, err := net.Listen("tcp", s.cfg.addr)
	if err != nil {
		return err
	}
	lns := []net.Listener{ln}
	srvs := []*http.Server{newSrv(s.handler(s.cfg.adminAddr == ""))}
	at := listening{addr: ln.Addr().String()}
	if s.cfg.adminAddr != "" {
		aln, err := net.Listen("tcp", s.cfg.adminAddr)
		if err != nil {
			ln.Close()
			return err
		}
		lns = append(lns, aln)
		srvs = append(srvs, newSrv(s.admin))
		at.admin = aln.Addr().String()
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "lwaauthz: serving",
		slog.String("addr", at.addr), slog.String("admin_addr", at.admin),
		slog.String("client_ids", strings.Join(s.cfg.clientIDs, ",")), slog.String("endpoint", s.cfg.endpoint),
		slog.Bool("shared_cache", s.rdb != nil))
	if started != nil {
		started(at)
	}

	errc := make(chan error, len(srvs))
	for i, srv := range srvs {
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc: // a listener failed: stop the others
	case <-ctx.Done():
		s.draining.Store(true)
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "lwaauthz: shutting down", slog.Duration("delay", s.cfg.shutdownDelay))
		if s.cfg.shutdownDelay > 0 {
			t := time.NewTimer(s.cfg.shutdownDelay)
			<-t.C
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range srvs {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, err)
		}
	}
	for range len(srvs) - btoi(serveErr != nil) {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, serveErr)
	}
	return errors.Join(errs...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
