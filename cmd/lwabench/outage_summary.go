package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// The summary: the run against the resilience targets. The breaker's
// changes and the stale answers come from the verifier's Observer
// (outage_observer.go), the rest from the requests' records.

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
	breakerOpened            bool          // the Observer saw the breaker open
	breakerOpenAt            time.Duration // script time it first opened
	first503At               time.Duration // script time of the first 503 ErrUpstreamUnavailable, -1 if none
	breakerClosedAt          time.Duration // script time it closed again after the upstream returned, -1 if not
	staleServed              int           // answers served stale (Observer)
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
	for _, rec := range r.records {
		t := r.script(rec.start)
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

	r.summarizeStale(sum, outageEnd)
	r.summarizeBreaker(sum, upAt)
	if sum.breakerOpened {
		// While the breaker is open, one verification per cooldown is its
		// probe: it asks Amazon and takes Amazon's round trip (a 500 here).
		// The others are answered by the open breaker.
		var probes []time.Duration
		for _, rec := range r.records {
			if t := r.script(rec.start); rec.class == classNew && t >= sum.breakerOpenAt && t < upAt {
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
			detail: fmt.Sprintf("from the breaker's opening at %s until the upstream returned at %s, %d new-token requests were answered by the open breaker: p50 %s ms, p99 %s ms, max %s ms, %s within 10 ms; "+
				"%d others were the breaker's probes, which ask Amazon (p50 %s ms); target p99 ≤ 10 ms",
				st(sum.breakerOpenAt), st(upAt), len(newOpen), ms(pct(newOpen, 0.5)), ms(sum.newOpenP99), ms(pct(newOpen, 1)), percent(fast, len(newOpen)),
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
		closed := "the breaker did not close again"
		if sum.breakerClosedAt >= 0 {
			closed = fmt.Sprintf("the breaker closed %s after the upstream returned", st(sum.breakerClosedAt-upAt))
		}
		sum.add(check{name: "recovery", target: true,
			pass: sum.recoveredAfter <= o.cooldown+slack && afterOK == afterN && r.endBreaker == observe.BreakerClosed,
			detail: fmt.Sprintf("first fresh token verified %s after the upstream returned, %s; %s of the fresh-token requests after it served; breaker %s at the end; target ≤ one probe interval (%v, + %v for the next fresh token to arrive and its round trip), closed at the end",
				st(sum.recoveredAfter), closed, percent(afterOK, afterN), breakerNames[r.endBreaker], o.cooldown, slack.Round(time.Millisecond))})
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

// st formats a script time in seconds.
func st(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// summarizeBreaker checks how fast the breaker opened once the upstream
// hung, from the verifier's Observer and from the first 503 a client got.
func (r *outageRun) summarizeBreaker(sum *outageSummary, upAt time.Duration) {
	o := r.o
	sum.first503At = -1
	for _, rec := range r.records {
		if rec.kind == kindUnavailable {
			sum.first503At = r.script(rec.start + rec.latency)
			break
		}
	}
	sum.breakerClosedAt = -1
	if at := r.firstChangeTo(observe.BreakerClosed, o.scaled(upAt)); at >= 0 {
		sum.breakerClosedAt = r.script(at)
	}
	openAt := r.firstChangeTo(observe.BreakerOpen, 0)
	sum.breakerOpened = openAt >= 0
	if !sum.breakerOpened {
		if o.breakerFailures == 0 {
			sum.add(check{name: "breaker opens on a hang", pass: true, detail: "off (-breaker-failures 0)"})
			return
		}
		sum.add(check{name: "breaker opens on a hang", target: true, detail: "never opened (the verifier's Observer saw no change to open)"})
		return
	}
	sum.breakerOpenAt = r.script(openAt)
	// core counts a call to Amazon still under way after min(1 s,
	// WithTimeout / 2) as failed, and opens the breaker once the calls of
	// -breaker-failures distinct tokens have failed: a hanging Amazon opens
	// it about that long after the fresh tokens that many arrived (1 s +
	// 5 / 20 s with the defaults), with a quarter of a second to spare.
	hangAfter := r.script(min(time.Second, o.scaled(o.timeout)/2))
	target := hangAfter + time.Duration(float64(o.breakerFailures)/o.newRate*float64(time.Second)) + 250*time.Millisecond
	first503 := "no 503 ErrUpstreamUnavailable"
	if sum.first503At >= 0 {
		first503 = fmt.Sprintf("the first 503 ErrUpstreamUnavailable answered at %s, %s after the hang started", st(sum.first503At), st(sum.first503At-o.at))
	}
	sum.add(check{name: "breaker opens on a hang", target: true,
		pass: sum.first503At >= 0 && sum.first503At-o.at <= target,
		detail: fmt.Sprintf("opened at %s, %s after the upstream started hanging (the verifier's Observer); %s; %d state changes in all; target ≤ %s from the hang to the first 503 (a call under way for %s counts as failed, %d distinct tokens open it)",
			st(sum.breakerOpenAt), st(sum.breakerOpenAt-o.at), first503, len(r.breaker)-1, st(target), st(hangAfter), o.breakerFailures)})
}

// summarizeStale reports the answers served stale, as the verifier's
// Observer counted them.
func (r *outageRun) summarizeStale(sum *outageSummary, outageEnd time.Duration) {
	sum.staleServed = len(r.stale)
	if len(r.stale) == 0 {
		detail := "none served"
		if !sum.stale {
			detail += " (stale-if-error is off)"
		}
		sum.add(check{name: "stale answers", pass: true, detail: detail + r.notStaleNote()})
		return
	}
	var worst time.Duration
	var inOutage int
	for _, s := range r.stale {
		worst = max(worst, s.staleness)
		if t := r.script(s.at); t >= r.o.at && t < outageEnd {
			inOutage++
		}
	}
	sum.add(check{name: "stale answers", pass: true,
		detail: fmt.Sprintf("%d served stale (the verifier's Observer), %d of them during the outage and one probe interval, from %s to %s; the stalest %s past its TTL (script time)%s",
			len(r.stale), inOutage, st(r.script(r.stale[0].at)), st(r.script(r.stale[len(r.stale)-1].at)), st(r.script(worst)), r.notStaleNote())})
}

// notStaleNote mentions the stale events with a negative staleness the
// Observer received, if any: core reports a refresh ahead of expiry that
// failed while its entry was still trusted as a stale answer, though it
// served nobody; they are not counted.
func (r *outageRun) notStaleNote() string {
	if r.notStale == 0 {
		return ""
	}
	return fmt.Sprintf("; %d more stale events had a negative staleness (refreshes ahead of expiry that failed while the entry was still trusted: nothing served stale), not counted", r.notStale)
}
