package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
)

// The outage scenario, from the top: set up (outageRig), warm up, play
// the script under load (outage_script.go, sampled by outage_sample.go),
// then print the per-second table (outage_table.go), the summary against
// the targets (outage_summary.go) and the plot (plot.go).

// The classes of requests.
const (
	classHot = iota
	classNew
)

// record is one request of the run. Times are real, from the start of the
// script.
type record struct {
	start, latency time.Duration
	status         int // 0: no answer
	kind           string
	class          int
	first          bool // the first use of a fresh token
}

// phaseEvent is one step of the script, as it happened.
type phaseEvent struct {
	name string
	at   time.Duration // real, from the start of the script
}

// breakerSpan is a stretch of time in one breaker state, real times from
// the start of the script (from may be negative: before it).
type breakerSpan struct {
	from, to time.Duration
	state    observe.BreakerState
}

// staleAt is one answer served stale, its real time from the start of the
// script.
type staleAt struct {
	at, staleness time.Duration
}

// outageRun is everything the run measured.
type outageRun struct {
	o       *outageConfig
	clients int           // hot clients
	delay   time.Duration // upstream delay, real
	warmed  time.Duration // when the hot tokens were verified, real (negative: before the start)
	records []record
	events  []phaseEvent
	// per script second
	calls      []int
	goroutines []int
	// from the verifier's Observer
	breaker    []breakerSpan // in order, covering the run
	stale      []staleAt     // in order
	notStale   int           // stale events with a negative staleness, not counted
	endBreaker observe.BreakerState
}

// outageRig is what one run sets up: the fake upstream, the verifier and
// its observer, the server, the client.
type outageRig struct {
	c      *config
	o      *outageConfig
	up     *lwatest.Server
	obs    *outageObserver
	v      *core.Verifier
	srv    *server
	url    string
	client *http.Client
	delay  time.Duration // upstream delay, real
}

// newOutageRig starts the fake upstream, the verifier and the std server.
func newOutageRig(c *config) (_ *outageRig, err error) {
	o := &c.outage
	g := &outageRig{c: c, o: o, up: lwatest.NewServer(), obs: &outageObserver{}, delay: o.scaled(c.delay)}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	g.setDelay()
	g.v, err = core.NewVerifier(
		core.WithClientID(clientID), core.WithEndpoint(g.up.URL),
		core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithObserver(g.obs),
		core.WithCacheTTL(o.scaled(o.ttl)),
		core.WithStaleIfError(o.scaled(o.stale)),
		core.WithRefreshAhead(o.refresh),
		core.WithCircuitBreaker(o.breakerFailures, o.scaled(o.cooldown)),
		core.WithTimeout(o.scaled(o.timeout)),
	)
	if err != nil {
		return nil, err
	}
	if g.srv, err = startHandler(outageRouter(g.v), c.addr); err != nil {
		return nil, err
	}
	g.url = g.srv.url + protectedRoute
	g.client = newLoadClient(c.conns)
	g.client.Timeout = o.scaled(o.timeout) + 10*time.Second
	return g, nil
}

// close stops what newOutageRig started and returns the server's error.
func (g *outageRig) close() error {
	var err error
	if g.client != nil {
		g.client.CloseIdleConnections()
	}
	if g.srv != nil {
		if serr := g.srv.stop(); serr != nil {
			err = fmt.Errorf("server: %w", serr)
		}
	}
	if g.v != nil {
		_ = g.v.Close()
	}
	g.up.Close()
	return err
}

// setDelay gives both endpoints the run's delay.
func (g *outageRig) setDelay() {
	g.up.SetDelay(lwatest.EndpointTokenInfo, g.delay)
	g.up.SetDelay(lwatest.EndpointProfile, g.delay)
}

// profile is the customer of every token.
var profile = core.Profile{Email: "alice@example.com", Name: "Alice Example", PostalCode: "98052"}

// issue issues n tokens, as Authorization values.
func (g *outageRig) issue(n int) []string {
	auth := make([]string, n)
	for i := range auth {
		auth[i] = "Bearer " + g.up.Issue(clientID, profile)
	}
	return auth
}

// warmUp verifies every hot token once, all at once, so that their TTLs end
// together at a known time.
func (g *outageRig) warmUp(ctx context.Context, hot []string) error {
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for _, h := range hot {
		wg.Go(func() {
			if st, _ := send(ctx, g.client, g.url, h); st != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("warm-up: %d hot tokens not verified", n)
	}
	return nil
}

// runOutage plays the outage script against one std server and prints the
// per-second table and the summary.
func runOutage(ctx context.Context, c *config, out, stderr io.Writer) (err error) {
	o := &c.outage
	g, err := newOutageRig(c)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := g.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	hot := g.issue(o.hot)
	warmStart := time.Now()
	if err := g.warmUp(ctx, hot); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "lwabench: outage scenario, %v (real %v)...\n", o.total, o.scaled(o.total))

	run, err := g.play(ctx, hot, warmStart)
	if err != nil {
		return err
	}
	run.printSeconds(out)
	run.summarize().print(out)
	if o.plot != "" {
		if err := os.WriteFile(o.plot, run.svg(), 0o644); err != nil {
			return fmt.Errorf("-plot: %w", err)
		}
		fmt.Fprintf(stderr, "lwabench: wrote %s\n", o.plot)
	}
	return nil
}

// script returns the script time of a real duration since the start.
func (r *outageRun) script(d time.Duration) time.Duration {
	return time.Duration(float64(d) * r.o.speed)
}

// phaseAt names the phase of the script at script time t.
func (r *outageRun) phaseAt(t time.Duration) string {
	o := r.o
	switch {
	case t < o.at:
		return "normal"
	case t < o.at+o.hang:
		return "hang"
	case t < o.at+o.hang+o.fail:
		return "5xx"
	}
	return "recovered"
}
