package main

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-lwa/lwa/lwatest"
)

// The script and the load: at -outage-at the upstream hangs for -hang, then
// answers 500 for -fail, then recovers; meanwhile -c clients use the hot
// tokens at -hot-rate, and fresh tokens arrive at -new-rate.

// sleepUntil waits until t or the end of ctx, and reports whether ctx is
// still alive.
func sleepUntil(ctx context.Context, t time.Time) bool {
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

// recorder collects the records of the run's requests.
type recorder struct {
	mu      sync.Mutex
	records []record
}

func (rc *recorder) add(r record) {
	rc.mu.Lock()
	rc.records = append(rc.records, r)
	rc.mu.Unlock()
}

// play runs the script under load, sampled, and returns what it measured.
func (g *outageRig) play(ctx context.Context, hot []string, warmStart time.Time) (*outageRun, error) {
	o := g.o
	t0 := time.Now()
	run := &outageRun{o: o, clients: g.c.conns, delay: g.delay, warmed: warmStart.Sub(t0)}
	rc := &recorder{records: make([]record, 0, int(o.hotRate*o.total.Seconds())+1024)}
	do := func(auth string, class int, first bool) {
		start := time.Now()
		st, kind := send(ctx, g.client, g.url, auth)
		rc.add(record{start: start.Sub(t0), latency: time.Since(start), status: st, kind: kind, class: class, first: first})
	}

	var bg sync.WaitGroup
	var evMu sync.Mutex
	bg.Go(func() {
		g.script(ctx, t0, func(name string) {
			evMu.Lock()
			run.events = append(run.events, phaseEvent{name: name, at: time.Since(t0)})
			evMu.Unlock()
		})
	})
	smp := newSampler(g, t0)
	samplerDone := make(chan struct{})
	bg.Go(func() { smp.run(samplerDone) })

	var load sync.WaitGroup
	g.hotClients(ctx, &load, t0, hot, do)
	g.freshTokens(ctx, &load, t0, do)
	load.Wait()
	close(samplerDone)
	bg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	run.calls, run.goroutines = smp.perSecond()
	slices.SortFunc(rc.records, func(a, b record) int { return int(a.start - b.start) })
	run.records = rc.records
	run.observed(g.obs, t0)
	return run, nil
}

// script plays the upstream's part, calling mark at each step.
func (g *outageRig) script(ctx context.Context, t0 time.Time, mark func(string)) {
	o := g.o
	if !sleepUntil(ctx, t0.Add(o.scaled(o.at))) {
		return
	}
	g.up.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
	g.up.Fail(lwatest.EndpointProfile, lwatest.Failure{Hang: true})
	mark("hang")
	if !sleepUntil(ctx, t0.Add(o.scaled(o.at+o.hang))) {
		return
	}
	// A lasting failure replaces the previous one at once: no call slips
	// through in between.
	g.up.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError})
	g.up.Fail(lwatest.EndpointProfile, lwatest.Failure{Status: http.StatusInternalServerError})
	mark("5xx")
	if !sleepUntil(ctx, t0.Add(o.scaled(o.at+o.hang+o.fail))) {
		return
	}
	g.up.Recover() // also clears the delays
	g.setDelay()
	mark("recovered")
}

// hotClients starts -c clients, paced, each at -hot-rate / -c, cycling
// through the hot tokens; a client that falls behind (a slow answer) does
// not burst to catch up.
func (g *outageRig) hotClients(ctx context.Context, load *sync.WaitGroup, t0 time.Time, hot []string, do func(string, int, bool)) {
	o := g.o
	end := t0.Add(o.scaled(o.total))
	var next atomic.Int64
	conns := g.c.conns
	interval := time.Duration(float64(conns) / (o.hotRate * o.speed) * float64(time.Second))
	for i := range conns {
		load.Go(func() {
			at := t0.Add(interval * time.Duration(i) / time.Duration(conns))
			for {
				if !sleepUntil(ctx, at) || !time.Now().Before(end) {
					return
				}
				do(hot[int(next.Add(1))%len(hot)], classHot, false)
				at = at.Add(interval)
				if now := time.Now(); at.Before(now) {
					at = now
				}
			}
		})
	}
}

// freshTokens issues a fresh token every 1/-new-rate and uses it -new-uses
// times in a row, from a goroutine of its own (a hanging upstream must not
// slow the arrival of new tokens down).
func (g *outageRig) freshTokens(ctx context.Context, load *sync.WaitGroup, t0 time.Time, do func(string, int, bool)) {
	o := g.o
	end := t0.Add(o.scaled(o.total))
	load.Go(func() {
		every := time.Duration(float64(time.Second) / (o.newRate * o.speed))
		for at := t0; at.Before(end); at = at.Add(every) {
			if !sleepUntil(ctx, at) {
				return
			}
			auth := g.issue(1)[0]
			load.Go(func() {
				for u := range o.newUses {
					do(auth, classNew, u == 0)
				}
			})
		}
	})
}

// nsec is the number of script seconds of the run.
func (o *outageConfig) nsec() int { return int(math.Ceil(o.total.Seconds())) }
