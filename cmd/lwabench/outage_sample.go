package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/lwatest"
)

// What the run measures besides its requests: goroutines and upstream
// calls, sampled every 25 ms (script time), and what the verifier's
// Observer recorded (breaker changes, stale answers); then the per-second
// view of it all.

// sampler samples the goroutines (peak per second) and the upstream calls
// (cumulative, per second).
type sampler struct {
	g          *outageRig
	t0         time.Time
	base       int
	goroutines []int
	cum        []int
}

func newSampler(g *outageRig, t0 time.Time) *sampler {
	n := g.o.nsec()
	return &sampler{g: g, t0: t0, base: g.upstreamCalls(), goroutines: make([]int, n), cum: make([]int, n)}
}

// upstreamCalls is the number of calls the fake upstream has seen.
func (g *outageRig) upstreamCalls() int {
	return g.up.CallCount(lwatest.EndpointTokenInfo) + g.up.CallCount(lwatest.EndpointProfile)
}

// run samples until done is closed.
func (s *sampler) run(done <-chan struct{}) {
	o := s.g.o
	n := len(s.goroutines)
	tick := time.NewTicker(max(time.Millisecond, o.scaled(25*time.Millisecond)))
	defer tick.Stop()
	for {
		sec := min(n-1, max(0, int(time.Since(s.t0).Seconds()*o.speed)))
		s.goroutines[sec] = max(s.goroutines[sec], runtime.NumGoroutine())
		s.cum[sec] = s.g.upstreamCalls() - s.base
		select {
		case <-tick.C:
		case <-done:
			return
		}
	}
}

// perSecond returns the upstream calls and the peak goroutines of each
// script second.
func (s *sampler) perSecond() (calls, goroutines []int) {
	calls = make([]int, len(s.cum))
	prev := 0
	for i := range s.cum {
		if s.cum[i] == 0 && i > 0 {
			s.cum[i] = prev // a second without a sample
		}
		calls[i] = s.cum[i] - prev
		prev = s.cum[i]
	}
	return calls, s.goroutines
}

// observed takes what the verifier's Observer recorded, in real time from
// t0: the breaker's states as spans, the stale answers, and the breaker's
// state at the end.
func (r *outageRun) observed(obs *outageObserver, t0 time.Time) {
	changes, stale, notStale := obs.events()
	r.notStale = notStale
	end := r.o.scaled(r.o.total)
	state, from := observe.BreakerClosed, time.Duration(math.MinInt64)
	for _, c := range changes {
		at := c.at.Sub(t0)
		if at > from {
			r.breaker = append(r.breaker, breakerSpan{from: from, to: at, state: state})
		}
		state, from = c.to, at
	}
	r.breaker = append(r.breaker, breakerSpan{from: from, to: max(end, from), state: state})
	for _, s := range stale {
		r.stale = append(r.stale, staleAt{at: s.at.Sub(t0), staleness: s.staleness})
	}
	r.endBreaker = obs.breaker()
}

// firstChangeTo is the real time of the breaker's first change to state at
// or after from, or -1.
func (r *outageRun) firstChangeTo(state observe.BreakerState, from time.Duration) time.Duration {
	for i, s := range r.breaker {
		if i > 0 && s.state == state && s.from >= from {
			return s.from
		}
	}
	return -1
}

// statesDuring returns the breaker states of the real interval [from, to),
// in order, each once.
func (r *outageRun) statesDuring(from, to time.Duration) []observe.BreakerState {
	var out []observe.BreakerState
	for _, s := range r.breaker {
		if s.to > from && s.from < to && !slices.Contains(out, s.state) {
			out = append(out, s.state)
		}
	}
	return out
}

// secondStats is one script second of the run.
type secondStats struct {
	hot, new   []time.Duration // latencies, sorted
	status     map[int]int
	newFirsts  int
	calls      int
	goroutines int
	stale      int                    // answers served stale (Observer)
	maxStale   time.Duration          // the stalest of them
	breaker    []observe.BreakerState // the breaker's states during the second (Observer)
}

func (r *outageRun) seconds() []secondStats {
	n := len(r.calls)
	ss := make([]secondStats, n)
	sec := func(real time.Duration) int { return min(n-1, max(0, int(r.script(real).Seconds()))) }
	for i := range ss {
		ss[i].status = map[int]int{}
		ss[i].calls, ss[i].goroutines = r.calls[i], r.goroutines[i]
		from := r.o.scaled(time.Duration(i) * time.Second)
		ss[i].breaker = r.statesDuring(from, from+r.o.scaled(time.Second))
	}
	for _, rec := range r.records {
		s := sec(rec.start)
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
	for _, st := range r.stale {
		s := sec(st.at)
		ss[s].stale++
		ss[s].maxStale = max(ss[s].maxStale, st.staleness)
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
