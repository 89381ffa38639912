package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-lwa/lwa/core/observe"
)

// The chart's geometry, in SVG user units.
const (
	plotW, plotH   = 900.0, 560.0
	plotLeft       = 78.0
	plotRight      = 700.0 // the legend is to the right of it
	latTop, latBot = 64.0, 286.0
	bandTop, bandH = 298.0, 14.0 // the breaker's state, between the two charts
	cntTop, cntBot = 330.0, 500.0
	latMin, latMax = 0.1, 10000.0 // ms, log scale
)

// statusColors are the bar colours of statusColumns and of "other".
var statusColors = map[int]string{200: "#4caf50", 502: "#ff9800", 503: "#e53935", 504: "#8e24aa", 0: "#757575"}

// breakerColors are the colours of the breaker's states in its band.
var breakerColors = map[observe.BreakerState]string{
	observe.BreakerClosed:   "#c8e6c9",
	observe.BreakerOpen:     "#c62828",
	observe.BreakerHalfOpen: "#ffa000",
}

// staleColor is the colour of the stale answers' line.
const staleColor = "#00897b"

// svg draws the run: the p99 latency of hot and new tokens per second (log
// scale), the answers per second by status and those served stale (log
// scale), the phases of the script as shaded bands, and the breaker's state
// between the two charts, as the verifier's Observer reported it.
// Hand-written SVG: no dependency.
func (r *outageRun) svg() []byte {
	o := r.o
	ss := r.seconds()
	n := float64(len(ss))
	x := func(sec float64) float64 { return plotLeft + (plotRight-plotLeft)*sec/n }
	logY := func(v, lo, hi, top, bot float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return bot - (bot-top)*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	latY := func(ms float64) float64 { return logY(ms, latMin, latMax, latTop, latBot) }
	maxCount := 1.0
	for _, s := range ss {
		for _, c := range s.status {
			maxCount = math.Max(maxCount, float64(c))
		}
	}
	cntMax := math.Pow(10, math.Ceil(math.Log10(maxCount)))
	cntY := func(c float64) float64 { return logY(c, 1, cntMax, cntTop, cntBot) }

	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...); b.WriteByte('\n') }
	text := func(s string) string {
		var e strings.Builder
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	p(`<?xml version="1.0" encoding="UTF-8"?>`)
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`, plotW, plotH, plotW, plotH)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>`)
	stale := "off"
	if o.stale > 0 {
		stale = o.stale.String()
	}
	p(`<text x="%.0f" y="24" font-size="15" font-weight="bold">%s</text>`, plotLeft, text("lwabench -scenario outage: Login with Amazon hangs, then fails, then recovers"))
	p(`<text x="%.0f" y="42" fill="#555">%s</text>`, plotLeft, text(fmt.Sprintf(
		"std adapter; %d hot tokens at %.0f req/s, %.0f new tokens/s; TTL %v, stale-if-error %s, refresh-ahead %.2f, breaker %d / %v, timeout %v",
		o.hot, o.hotRate, o.newRate, o.ttl, stale, o.refresh, o.breakerFailures, o.cooldown, o.timeout)))

	// Phases.
	band := func(from, to time.Duration, fill, label string) {
		x0, x1 := x(from.Seconds()), x(to.Seconds())
		p(`<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="%s"/>`, x0, latTop, x1-x0, cntBot-latTop, fill)
		p(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#444">%s</text>`, (x0+x1)/2, latTop-6, text(label))
	}
	band(o.at, o.at+o.hang, "#fde0dc", "upstream hangs")
	band(o.at+o.hang, o.at+o.hang+o.fail, "#fff0d9", "upstream answers 500")

	// Axes and grids.
	for _, v := range []float64{0.1, 1, 10, 100, 1000, 10000} {
		y := latY(v)
		p(`<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`, plotLeft, y, plotRight, y)
		label := fmt.Sprintf("%g", v)
		if v >= 1000 {
			label = fmt.Sprintf("%g s", v/1000)
		}
		p(`<text x="%.0f" y="%.1f" text-anchor="end" fill="#333">%s</text>`, plotLeft-6, y+4, label)
	}
	for v := 1.0; v <= cntMax; v *= 10 {
		y := cntY(v)
		p(`<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`, plotLeft, y, plotRight, y)
		p(`<text x="%.0f" y="%.1f" text-anchor="end" fill="#333">%g</text>`, plotLeft-6, y+4, v)
	}
	for _, top := range [][2]float64{{latTop, latBot}, {cntTop, cntBot}} {
		p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`, plotLeft, top[0], plotLeft, top[1])
		p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`, plotLeft, top[1], plotRight, top[1])
	}
	step := max(1, int(math.Ceil(n/15)))
	for s := 0; s <= len(ss); s += step {
		xs := x(float64(s))
		p(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333"/>`, xs, cntBot, xs, cntBot+4)
		p(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#333">%d</text>`, xs, cntBot+17, s)
	}
	p(`<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`, (plotLeft+plotRight)/2, cntBot+36, text("time since the start of the script (s)"))
	p(`<text transform="translate(20 %.0f) rotate(-90)" text-anchor="middle">%s</text>`, (latTop+latBot)/2, text("p99 latency (ms, log)"))
	p(`<text transform="translate(20 %.0f) rotate(-90)" text-anchor="middle">%s</text>`, (cntTop+cntBot)/2, text("answers per second (log)"))

	// Answers per second by status: grouped bars.
	cols := append(append([]int(nil), statusColumns...), 0)
	slot := (plotRight - plotLeft) / n
	bw := slot / float64(len(cols)+1)
	for i, s := range ss {
		for j, st := range cols {
			c := s.status[st]
			if st == 0 {
				c = 0
				for k, v := range s.status {
					if k != 200 && k != 502 && k != 503 && k != 504 {
						c += v
					}
				}
			}
			if c == 0 {
				continue
			}
			y := cntY(float64(c))
			if c == 1 {
				y = cntBot - 2 // log 1 = 0: a stub, visible
			}
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>s %d: %d × %s</title></rect>`,
				x(float64(i))+bw/2+float64(j)*bw, y, bw, cntBot-y, statusColors[st], i, c, statusName(st))
		}
	}

	// The breaker's state, from the verifier's Observer.
	p(`<text x="%.0f" y="%.1f" text-anchor="end" fill="#333">%s</text>`, plotLeft-6, bandTop+bandH-3, text("breaker"))
	for _, sp := range r.breaker {
		from := math.Max(0, r.script(sp.from).Seconds())
		to := math.Min(n, r.script(sp.to).Seconds())
		if to <= from {
			continue
		}
		x0, x1 := x(from), x(to)
		p(`<rect x="%.2f" y="%.0f" width="%.2f" height="%.0f" fill="%s"><title>%s</title></rect>`,
			x0, bandTop, x1-x0, bandH, breakerColors[sp.state], text(fmt.Sprintf("breaker %s from %.2f s to %.2f s", breakerNames[sp.state], from, to)))
	}

	// Answers served stale per second, from the verifier's Observer.
	var stalePts []string
	flushStale := func() {
		if len(stalePts) > 0 {
			p(`<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="2 2" points="%s"/>`, staleColor, strings.Join(stalePts, " "))
		}
		stalePts = stalePts[:0]
	}
	for i, s := range ss {
		if s.stale == 0 {
			flushStale()
			continue
		}
		stalePts = append(stalePts, fmt.Sprintf("%.1f,%.1f", x(float64(i)+0.5), cntY(float64(s.stale))))
	}
	flushStale()

	// p99 latency lines, broken where a second has no request of the class.
	line := func(get func(secondStats) time.Duration, color, dash string) {
		var pts []string
		flush := func() {
			if len(pts) > 1 {
				p(`<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, color, dash, strings.Join(pts, " "))
			} else if len(pts) == 1 {
				var cx, cy float64
				_, _ = fmt.Sscanf(pts[0], "%f,%f", &cx, &cy)
				p(`<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, cx, cy, color)
			}
			pts = pts[:0]
		}
		for i, s := range ss {
			d := get(s)
			if d < 0 {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(i)+0.5), latY(float64(d)/float64(time.Millisecond))))
		}
		flush()
	}
	line(func(s secondStats) time.Duration { return pct(s.hot, 0.99) }, "#1e88e5", "")
	line(func(s secondStats) time.Duration { return pct(s.new, 0.99) }, "#f4511e", ` stroke-dasharray="6 3"`)

	// Events: the breaker's opening and the upstream's return.
	vline := func(at time.Duration, color, label string) {
		xs := x(at.Seconds())
		p(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-dasharray="3 3"/>`, xs, latTop, xs, cntBot, color)
		p(`<text x="%.1f" y="%.0f" fill="%s" font-size="11">%s</text>`, xs+3, latBot-6, color, text(label))
	}
	if at := r.firstChangeTo(observe.BreakerOpen, 0); at >= 0 {
		vline(r.script(at), "#c62828", "breaker opens")
	}

	// Legend.
	lx, ly := plotRight+18, latTop+4
	row := 0
	next := func() float64 { y := ly + float64(row)*20; row++; return y }
	label := func(y float64, s string) {
		p(`<text x="%.0f" y="%.0f">%s</text>`, lx+30, y+4, text(s))
	}
	y := next()
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#1e88e5" stroke-width="2"/>`, lx, y, lx+22, y)
	label(y, "hot tokens, p99")
	y = next()
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#f4511e" stroke-width="2" stroke-dasharray="6 3"/>`, lx, y, lx+22, y)
	label(y, "new tokens, p99")
	for _, st := range cols {
		y = next()
		p(`<rect x="%.0f" y="%.0f" width="22" height="10" fill="%s"/>`, lx, y-5, statusColors[st])
		label(y, "answered "+statusName(st))
	}
	y = next()
	p(`<rect x="%.0f" y="%.0f" width="22" height="12" fill="#fde0dc"/>`, lx, y-6)
	label(y, "upstream hangs")
	y = next()
	p(`<rect x="%.0f" y="%.0f" width="22" height="12" fill="#fff0d9"/>`, lx, y-6)
	label(y, "upstream answers 500")
	y = next()
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2" stroke-dasharray="2 2"/>`, lx, y, lx+22, y, staleColor)
	label(y, "answered stale")
	for _, st := range []observe.BreakerState{observe.BreakerClosed, observe.BreakerOpen, observe.BreakerHalfOpen} {
		y = next()
		p(`<rect x="%.0f" y="%.0f" width="22" height="10" fill="%s"/>`, lx, y-5, breakerColors[st])
		label(y, "breaker "+breakerNames[st])
	}
	y = next()
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#c62828" stroke-dasharray="3 3"/>`, lx, y, lx+22, y)
	label(y, "breaker opens")
	p(`</svg>`)
	return b.Bytes()
}

func statusName(st int) string {
	if st == 0 {
		return "other"
	}
	return fmt.Sprint(st)
}
