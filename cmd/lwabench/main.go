// Command lwabench measures the cost of Login with Amazon verification over
// real loopback HTTP, for each adapter.
//
//	go run ./cmd/lwabench                        # all adapters, 32 clients, 100 tokens, 20ms upstream, 3s per scenario
//	go run ./cmd/lwabench -adapters gin,std -c 64 -d 10s
//
// For each adapter (gin, echo, echov5, fiber, fiberv3, std) it starts a
// server on loopback with two routes that share one trivial handler: /bare, and /protected
// behind the adapter's New(v). An in-process fake LWA server (package
// lwatest), answering after -delay, is the upstream; -tokens distinct tokens
// are issued for the run. Each scenario (bare and protected) first sends
// every token once (the warm-up, untimed: it opens the client connections
// and, on /protected, verifies every token); then -c concurrent clients send
// requests for -d (or -n requests in all), cycling through the tokens. The
// timed phase is cut into -rounds rounds that alternate bare and protected,
// so that a change in the machine's load hits both alike.
//
// It prints a markdown table: requests/s bare and protected and their ratio,
// latency percentiles of both, and the upstream calls per distinct token
// (each adapter has its own verifier, hence its own cache: 1.00 means every
// token was verified upstream exactly once). Everything listens on, and
// talks to, loopback addresses only; it stops by itself.
//
// Two more modes:
//
//	go run ./cmd/lwabench -replicas 3 -redis 127.0.0.1:6379   # a fleet sharing Redis
//	go run ./cmd/lwabench -replicas 3                         # the same fleet, independent caches
//	go run ./cmd/lwabench -scenario outage -stale-if-error 5m -plot docs/outage.svg
//
// -replicas N runs N std servers, each with its own verifier (and, with
// -redis, its own go-redis client and a redislwa shared cache under a
// prefix of the run's own). Every token is sent to every replica at once,
// then the load keeps cycling through tokens and replicas; it prints the
// upstream calls per distinct token: ≈ 2 (tokeninfo + profile, once
// fleet-wide) with Redis whatever N, ≈ 2×N without.
//
// -scenario outage plays a script against one std server: hot tokens in
// continuous use and fresh tokens arriving at a steady rate; at -outage-at
// the fake upstream hangs for -hang, then answers 500 for -fail, then
// recovers. It prints a per-second table (the breaker's states and the
// answers served stale, as the verifier's Observer reported them; requests,
// p50/p99 by class, statuses, upstream calls, goroutines), a summary against
// the resilience targets, and with -plot an SVG chart with the breaker's
// state as a band. -speed plays the script faster. The scenario's files:
// outage_config.go (flags), outage_run.go (set-up, the run from the top),
// outage_script.go (the upstream's script and the load), outage_sample.go
// (sampling, the Observer's events, per-second figures), outage_observer.go,
// outage_server.go, outage_table.go, outage_summary.go (the targets) and
// plot.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/redislwa"
)

// clientID is the LWA client ID the fake issues tokens for.
const clientID = "amzn1.application-oa2-client.lwabench"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lwabench:", err)
		os.Exit(2)
	}
}

// config is the parsed command line.
type config struct {
	adapters []string
	conns    int           // concurrent clients
	tokens   int           // distinct tokens
	delay    time.Duration // upstream latency, per endpoint
	duration time.Duration // timed phase of each scenario
	requests int           // if > 0, the timed phase is this many requests instead
	rounds   int           // the timed phase alternates bare and protected in this many rounds
	addr     string        // listen address of the servers, loopback only

	replicas     int           // if > 0, the replicas mode: this many std servers, each with its own verifier
	redis        string        // replicas mode: address of the Redis they share (empty: no shared cache)
	redisTimeout time.Duration // replicas mode: redislwa.WithTimeout

	scenario string // "outage": the scripted outage scenario (see outage.go)
	outage   outageConfig
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("lwabench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	adapters := fs.String("adapters", strings.Join(adapterNames, ","), "comma-separated adapters to measure")
	fs.IntVar(&c.conns, "c", 32, "concurrent clients")
	fs.IntVar(&c.tokens, "tokens", 100, "distinct access tokens")
	fs.DurationVar(&c.delay, "delay", 20*time.Millisecond, "latency of each upstream (tokeninfo, profile) answer")
	fs.DurationVar(&c.duration, "d", 3*time.Second, "duration of the timed phase of each scenario")
	fs.IntVar(&c.requests, "n", 0, "if > 0, requests in the timed phase of each scenario (instead of -d)")
	fs.IntVar(&c.rounds, "rounds", 6, "split each timed phase into this many rounds, alternating bare and protected")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "listen address of the servers under test (loopback only: 127.0.0.0/8 or ::1)")
	fs.IntVar(&c.replicas, "replicas", 0, "if > 0, run this many replicas (std adapter, one verifier each) and spread the load over them, every token on every replica")
	fs.StringVar(&c.redis, "redis", "", "with -replicas: host:port of a Redis the replicas share as their cache (each with its own client); empty: independent replicas")
	fs.DurationVar(&c.redisTimeout, "redis-timeout", redislwa.DefaultTimeout, "with -redis: the bound on each Redis call (redislwa.WithTimeout); past it a replica verifies by itself")
	fs.StringVar(&c.scenario, "scenario", "", `"outage": the scripted upstream outage against one std server (see -total, -outage-at, -hang, -fail, -stale-if-error, -plot)`)
	c.outage.flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, a := range strings.Split(*adapters, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !slices.Contains(adapterNames, a) {
			return nil, fmt.Errorf("unknown adapter %q (want some of %s)", a, strings.Join(adapterNames, ", "))
		}
		if !slices.Contains(c.adapters, a) {
			c.adapters = append(c.adapters, a)
		}
	}
	switch {
	case len(c.adapters) == 0:
		return nil, errors.New("-adapters: no adapter selected")
	case c.conns <= 0:
		return nil, fmt.Errorf("-c must be positive, got %d", c.conns)
	case c.tokens <= 0:
		return nil, fmt.Errorf("-tokens must be positive, got %d", c.tokens)
	case c.delay < 0:
		return nil, fmt.Errorf("-delay must not be negative, got %v", c.delay)
	case c.rounds <= 0:
		return nil, fmt.Errorf("-rounds must be positive, got %d", c.rounds)
	case c.requests < 0:
		return nil, fmt.Errorf("-n must not be negative, got %d", c.requests)
	case c.requests == 0 && c.duration <= 0:
		return nil, fmt.Errorf("-d must be positive, got %v", c.duration)
	}
	switch {
	case c.replicas < 0:
		return nil, fmt.Errorf("-replicas must not be negative, got %d", c.replicas)
	case c.redis != "" && c.replicas == 0:
		return nil, errors.New("-redis needs -replicas N")
	case c.scenario != "" && c.scenario != "outage":
		return nil, fmt.Errorf("unknown -scenario %q (want outage)", c.scenario)
	case c.scenario != "" && c.replicas > 0:
		return nil, errors.New("-scenario and -replicas are separate modes: choose one")
	}
	if c.redis != "" {
		if _, _, err := net.SplitHostPort(c.redis); err != nil {
			return nil, fmt.Errorf("-redis %q: want host:port: %w", c.redis, err)
		}
	}
	if c.scenario == "outage" {
		if err := c.outage.check(); err != nil {
			return nil, err
		}
	}
	if err := checkLoopback(c.addr); err != nil {
		return nil, err
	}
	return c, nil
}

// checkLoopback accepts only a literal loopback IP (127.0.0.0/8 or ::1) and
// a port: lwabench floods what it listens on, and must never be pointed
// anywhere else.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: refusing a non-loopback address: want 127.x.x.x or [::1]", addr)
	}
	return nil
}

// run measures every selected adapter and writes the table to out.
func run(ctx context.Context, args []string, out, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	switch {
	case c.replicas > 0:
		return runReplicas(ctx, c, out, stderr)
	case c.scenario == "outage":
		return runOutage(ctx, c, out, stderr)
	}
	up := lwatest.NewServer()
	defer up.Close()
	up.SetDelay(lwatest.EndpointTokenInfo, c.delay)
	up.SetDelay(lwatest.EndpointProfile, c.delay)
	toks := make([]string, c.tokens)
	for i := range toks {
		toks[i] = up.Issue(clientID, core.Profile{Email: "alice@example.com", Name: "Alice Example", PostalCode: "98052"})
	}

	var rows []row
	for _, name := range c.adapters {
		fmt.Fprintf(stderr, "lwabench: %s...\n", name)
		r, err := measure(ctx, c, name, up, toks)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, r)
	}
	printTable(out, c, rows)
	return nil
}

// measure runs the bare and the protected scenario against one adapter's
// server, with a verifier (and cache) of its own.
func measure(ctx context.Context, c *config, name string, up *lwatest.Server, toks []string) (_ row, err error) {
	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(up.URL))
	if err != nil {
		return row{}, err
	}
	defer v.Close()
	srv, err := startServer(name, v, c.addr)
	if err != nil {
		return row{}, err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = fmt.Errorf("server: %w", serr)
		}
	}()

	client := newLoadClient(c.conns)
	defer client.CloseIdleConnections()
	bare, protected := srv.url+bareRoute, srv.url+protectedRoute
	r := row{adapter: name}
	up.ResetCalls()
	r.bare.errors += warmUp(ctx, client, bare, toks, c.conns).errors
	r.protected.errors += warmUp(ctx, client, protected, toks, c.conns).errors
	for range c.rounds {
		r.bare.add(timed(ctx, client, bare, toks, c))
		r.protected.add(timed(ctx, client, protected, toks, c))
	}
	if err := ctx.Err(); err != nil {
		return row{}, err
	}
	if r.bare.requests == 0 || r.protected.requests == 0 {
		return row{}, fmt.Errorf("no request succeeded (errors: bare %d, protected %d)", r.bare.errors, r.protected.errors)
	}
	r.tokeninfoPerToken = float64(up.CallCount(lwatest.EndpointTokenInfo)) / float64(len(toks))
	r.profilePerToken = float64(up.CallCount(lwatest.EndpointProfile)) / float64(len(toks))
	return r, nil
}

// row is one adapter's line of the table.
type row struct {
	adapter                            string
	bare, protected                    result
	tokeninfoPerToken, profilePerToken float64
}

func printTable(w io.Writer, c *config, rows []row) {
	phase := fmt.Sprintf("%v per scenario", c.duration)
	if c.requests > 0 {
		phase = fmt.Sprintf("%d requests per scenario", c.requests)
	}
	fmt.Fprintf(w, "lwabench: %d clients, %d tokens, upstream delay %v, %s in %d alternating rounds, GOMAXPROCS %d (clients, servers and fake upstream share it)\n\n",
		c.conns, c.tokens, c.delay, phase, c.rounds, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "| adapter | bare req/s | protected req/s | protected/bare | bare p50 / p90 / p99 | protected p50 / p90 / p99 | tokeninfo calls/token | profile calls/token | errors |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		ratio := 0.0
		if r.bare.rps() > 0 {
			ratio = r.protected.rps() / r.bare.rps()
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.1f %% | %s | %s | %.2f | %.2f | %d |\n",
			r.adapter, r.bare.rps(), r.protected.rps(), 100*ratio,
			r.bare.percentiles(), r.protected.percentiles(),
			r.tokeninfoPerToken, r.profilePerToken, r.bare.errors+r.protected.errors)
	}
}
