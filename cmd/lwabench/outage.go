package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// outageConfig is the command line of the outage scenario. Every duration
// is in script time: -speed divides them all (and multiplies the rates) to
// run the same script faster.
type outageConfig struct {
	total, at, hang, fail time.Duration
	hot                   int
	hotRate, newRate      float64
	newUses               int
	ttl, stale            time.Duration
	refresh               float64
	breakerFailures       int
	cooldown, timeout     time.Duration
	speed                 float64
	plot                  string
}

func (o *outageConfig) flags(fs *flag.FlagSet) {
	fs.DurationVar(&o.total, "total", 30*time.Second, "outage: length of the run")
	fs.DurationVar(&o.at, "outage-at", 8*time.Second, "outage: when the upstream starts hanging")
	fs.DurationVar(&o.hang, "hang", 6*time.Second, "outage: how long the upstream hangs (never answers)")
	fs.DurationVar(&o.fail, "fail", 6*time.Second, "outage: how long the upstream then answers 500 ServerError, before it recovers")
	fs.IntVar(&o.hot, "hot", 20, "outage: hot tokens, used continuously by the -c clients")
	fs.Float64Var(&o.hotRate, "hot-rate", 1000, "outage: requests per second carrying hot tokens, spread over the -c clients")
	fs.Float64Var(&o.newRate, "new-rate", 20, "outage: fresh tokens per second")
	fs.IntVar(&o.newUses, "new-uses", 2, "outage: requests per fresh token, one after the other")
	fs.DurationVar(&o.ttl, "ttl", 9*time.Second, "outage: the verifier's cache TTL (WithCacheTTL)")
	fs.DurationVar(&o.stale, "stale-if-error", 0, "outage: the verifier's WithStaleIfError window (0: off)")
	fs.Float64Var(&o.refresh, "refresh-ahead", core.DefaultRefreshAhead, "outage: the verifier's WithRefreshAhead fraction (0: off)")
	fs.IntVar(&o.breakerFailures, "breaker-failures", core.DefaultBreakerFailures, "outage: failures in a row that open the circuit breaker (0: off)")
	fs.DurationVar(&o.cooldown, "breaker-cooldown", core.DefaultBreakerCooldown, "outage: the breaker's probe interval")
	fs.DurationVar(&o.timeout, "timeout", core.DefaultTimeout, "outage: the verifier's WithTimeout")
	fs.Float64Var(&o.speed, "speed", 1, "outage: play the script this many times faster (every duration, -delay included, divided by it, rates multiplied); reports stay in script seconds, latencies in real time")
	fs.StringVar(&o.plot, "plot", "", "outage: write an SVG chart of the run to this file")
}

func (o *outageConfig) check() error {
	switch {
	case o.speed <= 0 || math.IsInf(o.speed, 0) || math.IsNaN(o.speed):
		return fmt.Errorf("-speed must be positive, got %v", o.speed)
	case o.total <= 0:
		return fmt.Errorf("-total must be positive, got %v", o.total)
	case o.at <= 0 || o.hang < 0 || o.fail < 0:
		return errors.New("-outage-at must be positive, -hang and -fail not negative")
	case o.at+o.hang+o.fail >= o.total:
		return fmt.Errorf("the outage (-outage-at %v + -hang %v + -fail %v) must end before -total %v", o.at, o.hang, o.fail, o.total)
	case o.hot <= 0:
		return fmt.Errorf("-hot must be positive, got %d", o.hot)
	case o.hotRate <= 0 || o.newRate <= 0:
		return errors.New("-hot-rate and -new-rate must be positive")
	case o.newUses <= 0:
		return fmt.Errorf("-new-uses must be positive, got %d", o.newUses)
	case o.ttl <= 0 || o.timeout <= 0 || o.stale < 0:
		return errors.New("-ttl and -timeout must be positive, -stale-if-error not negative")
	}
	return nil
}

// scaled converts a script duration to real time.
func (o *outageConfig) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / o.speed)
}

// The classes of requests.
const (
	classHot = iota
	classNew
)

// errorKindHeader carries, on a rejection, which sentinel it matched: the
// std adapter's ErrorHandler sets it and lets the default JSON error be
// written.
const errorKindHeader = "X-Lwabench-Error"

// Kinds of rejection, in errorKindHeader.
const (
	kindUnavailable = "unavailable" // ErrUpstreamUnavailable: the breaker is open
	kindOverloaded  = "overloaded"  // ErrOverloaded
	kindTimeout     = "timeout"     // ErrUpstreamTimeout
	kindUpstream    = "upstream"    // ErrUpstream
	kindOther       = "other"
)

func errorKind(err error) string {
	switch {
	case errors.Is(err, core.ErrUpstreamUnavailable):
		return kindUnavailable
	case errors.Is(err, core.ErrOverloaded):
		return kindOverloaded
	case errors.Is(err, core.ErrUpstreamTimeout):
		return kindTimeout
	case errors.Is(err, core.ErrUpstream):
		return kindUpstream
	}
	return kindOther
}

// outageRouter is the std adapter on /protected, with an ErrorHandler that
// only labels the rejection (the default JSON error is still written).
func outageRouter(v *core.Verifier) http.Handler {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(okBody))
	})
	mw := stdlwa.New(v, stdlwa.Config{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err *core.Error) {
		w.Header().Set(errorKindHeader, errorKind(err))
	}})
	mux := http.NewServeMux()
	mux.Handle("GET "+protectedRoute, mw(ok))
	return mux
}

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
}

// runOutage plays the outage script against one std server and prints the
// per-second table and the summary.
func runOutage(ctx context.Context, c *config, out, stderr io.Writer) (err error) {
	o := &c.outage
	up := lwatest.NewServer()
	defer up.Close()
	delay := o.scaled(c.delay)
	setDelay := func() {
		up.SetDelay(lwatest.EndpointTokenInfo, delay)
		up.SetDelay(lwatest.EndpointProfile, delay)
	}
	setDelay()
	v, err := core.NewVerifier(
		core.WithClientID(clientID), core.WithEndpoint(up.URL),
		core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithCacheTTL(o.scaled(o.ttl)),
		core.WithStaleIfError(o.scaled(o.stale)),
		core.WithRefreshAhead(o.refresh),
		core.WithCircuitBreaker(o.breakerFailures, o.scaled(o.cooldown)),
		core.WithTimeout(o.scaled(o.timeout)),
	)
	if err != nil {
		return err
	}
	defer v.Close()
	srv, err := startHandler(outageRouter(v), c.addr)
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = fmt.Errorf("server: %w", serr)
		}
	}()
	url := srv.url + protectedRoute
	client := newLoadClient(c.conns)
	client.Timeout = o.scaled(o.timeout) + 10*time.Second
	defer client.CloseIdleConnections()

	profile := core.Profile{Email: "alice@example.com", Name: "Alice Example", PostalCode: "98052"}
	hot := make([]string, o.hot)
	for i := range hot {
		hot[i] = "Bearer " + up.Issue(clientID, profile)
	}

	// Warm up: every hot token verified once, all at once, so that their
	// TTLs end together at a known time.
	warmStart := time.Now()
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for _, h := range hot {
		wg.Go(func() {
			if st, _ := send(ctx, client, url, h); st != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("warm-up: %d hot tokens not verified", n)
	}
	fmt.Fprintf(stderr, "lwabench: outage scenario, %v (real %v)...\n", o.total, o.scaled(o.total))

	t0 := time.Now()
	run := &outageRun{o: o, clients: c.conns, delay: delay, warmed: warmStart.Sub(t0)}
	nsec := int(math.Ceil(o.total.Seconds()))
	run.calls = make([]int, nsec)
	run.goroutines = make([]int, nsec)
	end := t0.Add(o.scaled(o.total))
	second := func(d time.Duration) int {
		return min(nsec-1, max(0, int(d.Seconds()*o.speed)))
	}

	var (
		mu      sync.Mutex
		records = make([]record, 0, int(o.hotRate*o.total.Seconds())+1024)
	)
	add := func(r record) {
		mu.Lock()
		records = append(records, r)
		mu.Unlock()
	}
	do := func(auth string, class int, first bool) {
		start := time.Now()
		st, kind := send(ctx, client, url, auth)
		add(record{start: start.Sub(t0), latency: time.Since(start), status: st, kind: kind, class: class, first: first})
	}
	sleepUntil := func(t time.Time) bool {
		d := time.Until(t)
		if d <= 0 {
			return ctx.Err() == nil
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
			return true
		case <-ctx.Done():
			return false
		}
	}

	// The script.
	var evMu sync.Mutex
	mark := func(name string) {
		evMu.Lock()
		run.events = append(run.events, phaseEvent{name: name, at: time.Since(t0)})
		evMu.Unlock()
	}
	var bg sync.WaitGroup
	bg.Go(func() {
		if !sleepUntil(t0.Add(o.scaled(o.at))) {
			return
		}
		up.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		up.Fail(lwatest.EndpointProfile, lwatest.Failure{Hang: true})
		mark("hang")
		if !sleepUntil(t0.Add(o.scaled(o.at + o.hang))) {
			return
		}
		// A lasting failure replaces the previous one at once: no call
		// slips through in between.
		up.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
		up.Fail(lwatest.EndpointProfile, lwatest.Failure{Status: http.StatusInternalServerError})
		mark("5xx")
		if !sleepUntil(t0.Add(o.scaled(o.at + o.hang + o.fail))) {
			return
		}
		up.Recover() // also clears the delays
		setDelay()
		mark("recovered")
	})

	// The sampler: goroutines (peak per second) and upstream calls.
	samplerDone := make(chan struct{})
	base := up.CallCount(lwatest.EndpointTokenInfo) + up.CallCount(lwatest.EndpointProfile)
	cum := make([]int, nsec)
	bg.Go(func() {
		tick := time.NewTicker(max(time.Millisecond, o.scaled(25*time.Millisecond)))
		defer tick.Stop()
		for {
			now := time.Now()
			s := second(now.Sub(t0))
			run.goroutines[s] = max(run.goroutines[s], runtime.NumGoroutine())
			cum[s] = up.CallCount(lwatest.EndpointTokenInfo) + up.CallCount(lwatest.EndpointProfile) - base
			select {
			case <-tick.C:
			case <-samplerDone:
				return
			}
		}
	})

	// Hot clients: paced, each at -hot-rate / -c; a client that falls
	// behind (a slow answer) does not burst to catch up.
	var load sync.WaitGroup
	var hotNext atomic.Int64
	interval := time.Duration(float64(c.conns) / (o.hotRate * o.speed) * float64(time.Second))
	for i := range c.conns {
		load.Go(func() {
			next := t0.Add(interval * time.Duration(i) / time.Duration(c.conns))
			for {
				if !sleepUntil(next) || !time.Now().Before(end) {
					return
				}
				do(hot[int(hotNext.Add(1))%len(hot)], classHot, false)
				next = next.Add(interval)
				if now := time.Now(); next.Before(now) {
					next = now
				}
			}
		})
	}
	// Fresh tokens: one every 1/-new-rate, each used -new-uses times in a
	// row, by a goroutine of its own (a hanging upstream must not slow the
	// arrival of new tokens down).
	load.Go(func() {
		every := time.Duration(float64(time.Second) / (o.newRate * o.speed))
		for next := t0; next.Before(end); next = next.Add(every) {
			if !sleepUntil(next) {
				return
			}
			auth := "Bearer " + up.Issue(clientID, profile)
			load.Go(func() {
				for u := range o.newUses {
					do(auth, classNew, u == 0)
				}
			})
		}
	})
	load.Wait()
	close(samplerDone)
	bg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	prev := 0
	for s := range nsec {
		if cum[s] == 0 && s > 0 {
			cum[s] = prev // a second without a sample
		}
		run.calls[s] = cum[s] - prev
		prev = cum[s]
	}
	slices.SortFunc(records, func(a, b record) int { return int(a.start - b.start) })
	run.records = records

	run.printSeconds(out)
	sum := run.summarize()
	sum.print(out)
	if o.plot != "" {
		if err := os.WriteFile(o.plot, run.svg(), 0o644); err != nil {
			return fmt.Errorf("-plot: %w", err)
		}
		fmt.Fprintf(stderr, "lwabench: wrote %s\n", o.plot)
	}
	return nil
}

// send sends one request and returns its status (0 without an answer) and
// the kind of rejection the server labelled it with.
func send(ctx context.Context, client *http.Client, url, authorization string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, ""
	}
	req.Header["Authorization"] = []string{authorization}
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<12))
	return resp.StatusCode, resp.Header.Get(errorKindHeader)
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

// secondStats is one script second of the run.
type secondStats struct {
	hot, new   []time.Duration // latencies, sorted
	status     map[int]int
	newFirsts  int
	calls      int
	goroutines int
}

func (r *outageRun) seconds() []secondStats {
	n := len(r.calls)
	ss := make([]secondStats, n)
	for i := range ss {
		ss[i].status = map[int]int{}
		ss[i].calls, ss[i].goroutines = r.calls[i], r.goroutines[i]
	}
	for _, rec := range r.records {
		s := min(n-1, max(0, int(r.script(rec.start).Seconds())))
		if rec.class == classHot {
			ss[s].hot = append(ss[s].hot, rec.latency)
		} else {
			ss[s].new = append(ss[s].new, rec.latency)
			if rec.first {
				ss[s].newFirsts++
			}
		}
		ss[s].status[rec.status]++
	}
	for i := range ss {
		slices.Sort(ss[i].hot)
		slices.Sort(ss[i].new)
	}
	return ss
}

// pct is the p-quantile of sorted latencies, or -1 when there are none.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	return sorted[int(math.Ceil(p*float64(len(sorted))))-1+boolInt(p == 0)]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
}

// statusColumns are the statuses counted in their own column.
var statusColumns = []int{200, 502, 503, 504}

func (r *outageRun) printSeconds(w io.Writer) {
	o := r.o
	stale := "off"
	if o.stale > 0 {
		stale = o.stale.String()
	}
	fmt.Fprintf(w, "lwabench outage: std adapter, %d hot tokens at %.0f req/s over %d clients, %.0f new tokens/s used %d× each, upstream delay %v; "+
		"TTL %v, stale-if-error %s, refresh-ahead %.2f, breaker %d failures / %v cooldown, timeout %v; script: hang at %v for %v, then 500s for %v, recovery at %v, end at %v; speed %g, GOMAXPROCS %d\n\n",
		o.hot, o.hotRate, r.clients, o.newRate, o.newUses, r.script(r.delay),
		o.ttl, stale, o.refresh, o.breakerFailures, o.cooldown, o.timeout,
		o.at, o.hang, o.fail, o.at+o.hang+o.fail, o.total, o.speed, runtime.GOMAXPROCS(0))
	unit := "req/s"
	if o.speed != 1 {
		unit = "req/script s"
	}
	fmt.Fprintf(w, "| s | phase | %s | hot p50 / p99 ms | new p50 / p99 ms | 200 | 502 | 503 | 504 | other | upstream calls | goroutines |\n", unit)
	fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for i, s := range r.seconds() {
		total, other := 0, 0
		for st, n := range s.status {
			total += n
			if !slices.Contains(statusColumns, st) {
				other += n
			}
		}
		fmt.Fprintf(w, "| %d | %s | %d | %s / %s | %s / %s | %d | %d | %d | %d | %d | %d | %d |\n",
			i, r.phaseAt(time.Duration(i)*time.Second), total,
			ms(pct(s.hot, 0.5)), ms(pct(s.hot, 0.99)), ms(pct(s.new, 0.5)), ms(pct(s.new, 0.99)),
			s.status[200], s.status[502], s.status[503], s.status[504], other, s.calls, s.goroutines)
	}
	fmt.Fprintln(w)
}

// check is one line of the summary.
type check struct {
	name, detail string
	pass         bool
	target       bool // a stated target (else informational)
}

// outageSummary is the verdict of a run.
type outageSummary struct {
	stale  bool
	checks []check

	hang, fail5xx, recovered bool          // the phases happened
	breakerOpened            bool          // some 503 with ErrUpstreamUnavailable
	breakerOpenAt            time.Duration // script time of the first one
	hotServedOutage          float64       // fraction of hot requests answered 200 during the outage (+ one probe interval)
	hotOutage                int           // their number
	hotServedInTTL           float64       // same, while hot tokens were within their normal TTL
	trustEnd                 time.Duration // script time the hot tokens' normal TTL ends during the outage
	newOpenP99               time.Duration // p99 of new tokens once the breaker is open, real
	recoveredAfter           time.Duration // script time from the upstream's return to the first verified new token
	goroutinesPeak           int
	goroutinesBefore         int
	goroutinesEnd            int
}

// summarize checks the run against the targets.
func (r *outageRun) summarize() *outageSummary {
	o := r.o
	sum := &outageSummary{stale: o.stale > 0}
	for _, e := range r.events {
		switch e.name {
		case "hang":
			sum.hang = true
		case "5xx":
			sum.fail5xx = true
		case "recovered":
			sum.recovered = true
		}
	}
	upAt := o.at + o.hang + o.fail
	st := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	sum.add(check{name: "script", pass: sum.hang && sum.fail5xx && sum.recovered,
		detail: fmt.Sprintf("upstream hangs at %s, answers 500 at %s, returns at %s (script time)", st(o.at), st(o.at+o.hang), st(upAt))})

	// The hot tokens' normal TTL: verified at the warm-up, then re-verified
	// (refresh-ahead, or at expiry without it) while the upstream is well.
	trustEnd := r.script(r.warmed) + o.ttl
	for {
		renew := trustEnd - time.Duration(o.refresh*float64(o.ttl))
		if renew >= o.at {
			break
		}
		trustEnd = renew + r.script(r.delay) + o.ttl
	}
	sum.trustEnd = trustEnd
	margin := 50*time.Millisecond + time.Duration(0.01*float64(o.ttl))
	outageEnd := min(o.total, upAt+o.cooldown)
	var hotN, hotOK, ttlN, ttlOK, pastN, pastOK int
	var newOpen []time.Duration
	firstUnavailable := time.Duration(-1)
	for _, rec := range r.records {
		t := r.script(rec.start)
		if rec.kind == kindUnavailable && firstUnavailable < 0 {
			firstUnavailable = t
		}
		if rec.class != classHot || t < o.at || t >= outageEnd {
			continue
		}
		ok := rec.status == http.StatusOK
		hotN++
		hotOK += boolInt(ok)
		switch {
		case t < trustEnd-margin:
			ttlN++
			ttlOK += boolInt(ok)
		case t >= trustEnd+margin:
			pastN++
			pastOK += boolInt(ok)
		}
	}
	frac := func(ok, n int) float64 {
		if n == 0 {
			return math.NaN()
		}
		return float64(ok) / float64(n)
	}
	sum.hotOutage, sum.hotServedOutage, sum.hotServedInTTL = hotN, frac(hotOK, hotN), frac(ttlOK, ttlN)
	sum.add(check{name: "hot tokens through the outage", target: sum.stale, pass: hotN > 0 && hotOK == hotN,
		detail: fmt.Sprintf("%s served (%d/%d, %s–%s: the outage and one probe interval); target 100 %% with stale-if-error on", percent(hotOK, hotN), hotOK, hotN, st(o.at), st(outageEnd))})
	ttlDetail := fmt.Sprintf("%s served (%d/%d) from %s until their normal TTL ends at %s (hot tokens last re-verified at %s, TTL %v); target ≥ 99.9 %%",
		percent(ttlOK, ttlN), ttlOK, ttlN, st(o.at), st(trustEnd), st(trustEnd-o.ttl), o.ttl)
	if trustEnd < outageEnd {
		ttlDetail += fmt.Sprintf("; past it, until %s: %s (%d/%d) — only stale-if-error can serve those", st(outageEnd), percent(pastOK, pastN), pastOK, pastN)
	}
	sum.add(check{name: "hot tokens within their normal TTL", target: true, pass: ttlN > 0 && float64(ttlOK) >= 0.999*float64(ttlN), detail: ttlDetail})

	sum.breakerOpened = firstUnavailable >= 0
	sum.breakerOpenAt = firstUnavailable
	if !sum.breakerOpened {
		sum.add(check{name: "breaker", target: true, detail: "never opened: no 503 ErrUpstreamUnavailable"})
	} else {
		// While the breaker is open, one verification per cooldown is its
		// probe: it asks Amazon and takes Amazon's round trip (a 500 here).
		// The others are answered by the open breaker.
		var probes []time.Duration
		for _, rec := range r.records {
			if t := r.script(rec.start); rec.class == classNew && t >= firstUnavailable && t < upAt {
				if rec.kind == kindUnavailable {
					newOpen = append(newOpen, rec.latency)
				} else {
					probes = append(probes, rec.latency)
				}
			}
		}
		slices.Sort(newOpen)
		slices.Sort(probes)
		sum.newOpenP99 = pct(newOpen, 0.99)
		var fast int
		for _, d := range newOpen {
			fast += boolInt(d <= 10*time.Millisecond)
		}
		sum.add(check{name: "new tokens once the breaker is open", target: true,
			pass: len(newOpen) > 0 && sum.newOpenP99 <= 10*time.Millisecond,
			detail: fmt.Sprintf("breaker opened at %s (first 503 ErrUpstreamUnavailable); until the upstream returned at %s, %d new-token requests were answered by the open breaker: p50 %s ms, p99 %s ms, max %s ms, %s within 10 ms; "+
				"%d others were the breaker's probes, which ask Amazon (p50 %s ms); target p99 ≤ 10 ms",
				st(firstUnavailable), st(upAt), len(newOpen), ms(pct(newOpen, 0.5)), ms(sum.newOpenP99), ms(pct(newOpen, 1)), percent(fast, len(newOpen)),
				len(probes), ms(pct(probes, 0.5)))})
	}

	// Recovery: the first fresh token verified after the upstream returned.
	sum.recoveredAfter = -1
	var afterN, afterOK int
	for _, rec := range r.records {
		t := r.script(rec.start)
		if rec.class != classNew || t < upAt {
			continue
		}
		if sum.recoveredAfter < 0 && rec.status == http.StatusOK {
			sum.recoveredAfter = r.script(rec.start+rec.latency) - upAt
		}
		if sum.recoveredAfter >= 0 && t >= upAt+sum.recoveredAfter {
			afterN++
			afterOK += boolInt(rec.status == http.StatusOK)
		}
	}
	slack := time.Duration(float64(time.Second)/o.newRate) + 2*r.script(r.delay) + 50*time.Millisecond
	if sum.recoveredAfter < 0 {
		sum.add(check{name: "recovery", target: true, detail: "no fresh token was verified after the upstream returned"})
	} else {
		sum.add(check{name: "recovery", target: true, pass: sum.recoveredAfter <= o.cooldown+slack && afterOK == afterN,
			detail: fmt.Sprintf("first fresh token verified %s after the upstream returned, %s of the fresh-token requests after it served; target ≤ one probe interval (%v, + %v for the next fresh token to arrive and its round trip)",
				st(sum.recoveredAfter), percent(afterOK, afterN), o.cooldown, slack.Round(time.Millisecond))})
	}

	// Goroutines: bounded by the verifications that can be outstanding
	// (a fresh token's hangs for at most -timeout), and back down after.
	for s, g := range r.goroutines {
		t := time.Duration(s) * time.Second
		sum.goroutinesPeak = max(sum.goroutinesPeak, g)
		if t+time.Second <= o.at {
			sum.goroutinesBefore = max(sum.goroutinesBefore, g)
		}
	}
	last := len(r.goroutines) - 1
	sum.goroutinesEnd = r.goroutines[max(0, last-1)] // the last second is partly the drain
	outstanding := o.newRate*o.timeout.Seconds()*float64(o.newUses) + float64(o.hot) + float64(r.clients)
	bound := sum.goroutinesBefore + int(16*outstanding)
	sum.add(check{name: "goroutines bounded", target: true,
		pass: sum.goroutinesPeak <= bound && sum.goroutinesEnd <= sum.goroutinesBefore+sum.goroutinesBefore/2+20,
		detail: fmt.Sprintf("peak %d (bound %d: before + 16 per request that can be outstanding), %d before the outage, %d at the end",
			sum.goroutinesPeak, bound, sum.goroutinesBefore, sum.goroutinesEnd)})

	// Refresh-ahead: the seconds of normal operation in which the hot
	// tokens were re-verified (upstream calls beyond the fresh tokens'),
	// and the hot p99 there.
	ss := r.seconds()
	var boundary []string
	var normalP99 []time.Duration
	worst := time.Duration(0)
	for i, s := range ss {
		t := time.Duration(i) * time.Second
		normal := t+time.Second <= o.at || (t >= outageEnd+time.Second && i < len(ss)-1)
		if !normal || len(s.hot) == 0 {
			continue
		}
		p := pct(s.hot, 0.99)
		normalP99 = append(normalP99, p)
		if reverified := (s.calls - 2*s.newFirsts) / 2; reverified >= max(1, o.hot/2) {
			boundary = append(boundary, fmt.Sprintf("s %d: %s ms", i, ms(p)))
			worst = max(worst, p)
		}
	}
	slices.Sort(normalP99)
	switch {
	case len(boundary) == 0:
		sum.add(check{name: "refresh-ahead at the TTL boundary", detail: "no hot re-verification in a normal second (choose -ttl so that one falls outside the outage)", pass: true})
	default:
		median := pct(normalP99, 0.5)
		sum.add(check{name: "refresh-ahead at the TTL boundary", target: o.refresh > 0, pass: worst < max(r.delay, 2*median),
			detail: fmt.Sprintf("hot p99 in the seconds the hot tokens were re-verified (%s); median hot p99 of the normal seconds %s ms; "+
				"target: no rise, below the upstream round trip (%s ms) or twice that median",
				strings.Join(boundary, ", "), ms(median), ms(r.delay))})
	}
	return sum
}

func (s *outageSummary) add(c check) { s.checks = append(s.checks, c) }

func percent(ok, n int) string {
	if n == 0 {
		return "- %"
	}
	return fmt.Sprintf("%.3f %%", 100*float64(ok)/float64(n))
}

func (s *outageSummary) print(w io.Writer) {
	stale := "off"
	if s.stale {
		stale = "on"
	}
	fmt.Fprintf(w, "summary (stale-if-error %s):\n", stale)
	for _, c := range s.checks {
		verdict := "info"
		switch {
		case c.target && c.pass:
			verdict = "PASS"
		case c.target:
			verdict = "FAIL"
		case !c.pass:
			verdict = "note"
		}
		fmt.Fprintf(w, "  [%s] %s: %s\n", verdict, c.name, c.detail)
	}
}
