// Command lwaauthz verifies Login with Amazon access tokens for proxies:
// nginx (auth_request), Traefik (forwardAuth) and Envoy (ext_authz, HTTP
// service) ask it about each request they receive, and copy the verified
// customer's identity upstream in X-Lwa-* headers. Services written in any
// language behind the proxy get lwa's verification, cache, coalescing,
// shared tier and revocation without a line of Go.
//
//	LWA_CLIENT_ID=amzn1.application-oa2-client.… lwaauthz
//	LWA_SHARED_KEYS=… lwaauthz -redis redis:6379   # replicas sharing verifications and revocations
//
// Endpoints on -addr (reachable by the proxy only):
//
//	/auth-request   nginx auth_request (see deploy/nginx)
//	/auth           Traefik forwardAuth (see deploy/traefik)
//	/auth/<path>    Envoy ext_authz with path_prefix /auth (see deploy/envoy)
//	POST /revoke    revoke the presented token on every replica (sign-out)
//	POST /revoke/user  revoke every token of the presented token's customer
//
// and on -admin-addr: GET /healthz, GET /readyz (503 while shutting down)
// and GET /metrics (Prometheus).
//
// An accepted request is answered 200 with the headers of -headers
// (default X-Lwa-User-Id and X-Lwa-Email; values that are not plain ASCII
// are percent-encoded UTF-8). A rejected one is answered with lwa's error
// table: status, JSON body, WWW-Authenticate, Retry-After. The proxy
// configurations under deploy/ strip every client-supplied X-Lwa-* header,
// so an upstream can trust them. Every flag also reads an environment
// variable: LWA_CLIENT_ID, LWA_ENDPOINT, and LWAAUTHZ_<FLAG> for the
// others (LWAAUTHZ_CACHE_TTL=10m); the shared tier's keys come from
// LWA_SHARED_KEYS or -shared-keys-file only. Run lwaauthz -h for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/redislwa"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lwaauthz:", err)
		os.Exit(1)
	}
}

// run starts lwaauthz as configured by args and the environment (getenv)
// and serves until ctx ends. Logs go to logOut. started, when not nil, is
// called once the listeners accept connections.
func run(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer, started func(listening)) error {
	c, err := parseConfig(args, getenv, logOut)
	if err != nil {
		return err
	}
	if c.healthcheck {
		return healthcheck(ctx, c)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: c.logLevel}))

	m, err := newMetrics()
	if err != nil {
		return err
	}
	defer m.Close()
	var rdb *redis.Client
	var shared core.SharedCache
	if c.redis != "" {
		if rdb, err = newRedisClient(c.redis); err != nil {
			return err
		}
		defer rdb.Close() // after v.Close: defers run in reverse
		shared = redislwa.New(rdb)
	}
	v, err := core.NewVerifier(verifierOptions(c, shared, m.Obs, log)...)
	if err != nil {
		return err
	}
	defer v.Close()
	return newServer(c, v, rdb, m.Handler, log).serve(ctx, started)
}

// newRedisClient connects to -redis: host:port, or a redis:// or rediss://
// URL (with a password or database number).
func newRedisClient(addr string) (*redis.Client, error) {
	if !strings.Contains(addr, "://") {
		return redis.NewClient(&redis.Options{Addr: addr}), nil
	}
	opts, err := redis.ParseURL(addr)
	if err != nil {
		return nil, fmt.Errorf("-redis: not a Redis URL") // the URL may hold a password: not repeated
	}
	return redis.NewClient(opts), nil
}

// healthcheck asks the /healthz of the lwaauthz configured like this one
// and returns nil when it answers 200.
func healthcheck(ctx context.Context, c *config) error {
	addr := c.adminAddr
	if addr == "" {
		addr = c.addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s", resp.Status)
	}
	return nil
}
