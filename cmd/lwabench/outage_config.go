package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/go-lwa/lwa/core"
)

// The outage scenario's command line.

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
