package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/redislwa"
)

// replica is one server of the fleet: its own Redis client (or none), its
// own verifier, its own loopback std server.
type replica struct {
	rdb *redis.Client // nil without -redis
	v   *core.Verifier
	srv *server
}

// close stops the server, then the verifier, then the Redis client (the
// verifier's shared tier uses the client until it is closed).
func (r *replica) close() error {
	var err error
	if r.srv != nil {
		err = r.srv.stop()
	}
	if r.v != nil {
		_ = r.v.Close()
	}
	if r.rdb != nil {
		err = errors.Join(err, r.rdb.Close())
	}
	return err
}

// replicasRow is what the replicas mode measured.
type replicasRow struct {
	first, timed                       result
	tokeninfoPerToken, profilePerToken float64
}

// runReplicas is the replicas mode: -replicas std servers, each with its own
// verifier (and, with -redis, its own Redis client and a redislwa shared
// cache on it), against one fake LWA server. Every token is first sent to
// every replica at once (the first-use phase: consecutive requests carry
// one token to each replica in turn, -c at a time), then -c clients keep
// cycling through tokens and replicas for -d (or -n requests). It prints
// the upstream calls per distinct token: 2 (tokeninfo + profile) whatever
// the number of replicas when they share Redis, 2 per replica without.
func runReplicas(ctx context.Context, c *config, out, stderr io.Writer) (err error) {
	up := lwatest.NewServer()
	defer up.Close()
	up.SetDelay(lwatest.EndpointTokenInfo, c.delay)
	up.SetDelay(lwatest.EndpointProfile, c.delay)
	toks := make([]string, c.tokens)
	for i := range toks {
		toks[i] = up.Issue(clientID, core.Profile{Email: "alice@example.com", Name: "Alice Example", PostalCode: "98052"})
	}

	// A prefix and channel of this run's own: runs never see each other's
	// keys or invalidations, and nothing else in that Redis is touched.
	var salt [6]byte
	_, _ = rand.Read(salt[:])
	prefix := "lwabench:" + hex.EncodeToString(salt[:]) + ":"
	// The replicas' fleet key: theirs alone, never stored in Redis.
	fleetKey := make([]byte, 32)
	_, _ = rand.Read(fleetKey)

	reps := make([]*replica, 0, c.replicas)
	defer func() {
		for i := len(reps) - 1; i >= 0; i-- {
			if cerr := reps[i].close(); cerr != nil && err == nil {
				err = fmt.Errorf("replica %d: %w", i, cerr)
			}
		}
	}()
	urls := make([]string, c.replicas)
	for i := range c.replicas {
		r := &replica{}
		reps = append(reps, r)
		opts := []core.Option{
			core.WithClientID(clientID), core.WithEndpoint(up.URL),
			core.WithLogger(slog.New(slog.DiscardHandler)),
		}
		if c.redis != "" {
			r.rdb = redis.NewClient(&redis.Options{Addr: c.redis})
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			perr := r.rdb.Ping(pctx).Err()
			cancel()
			if perr != nil {
				return fmt.Errorf("redis %s: %w", c.redis, perr)
			}
			opts = append(opts, core.WithSharedCache(redislwa.New(r.rdb,
				redislwa.WithPrefix(prefix), redislwa.WithChannel(prefix+"invalidate"), redislwa.WithTimeout(c.redisTimeout))),
				core.WithSharedKeys(fleetKey))
		}
		if r.v, err = core.NewVerifier(opts...); err != nil {
			return err
		}
		if r.srv, err = startServer("std", r.v, c.addr); err != nil {
			return err
		}
		urls[i] = r.srv.url + protectedRoute
	}

	client := newLoadClient(c.conns)
	defer client.CloseIdleConnections()
	fmt.Fprintf(stderr, "lwabench: %d replicas...\n", c.replicas)
	up.ResetCalls()
	var row replicasRow
	row.first = spread(ctx, client, urls, toks, c.conns, len(toks)*len(urls), time.Time{})
	for range c.rounds {
		var o result
		if c.requests > 0 {
			o = spread(ctx, client, urls, toks, c.conns, max(1, c.requests/c.rounds), time.Time{})
		} else {
			o = spread(ctx, client, urls, toks, c.conns, 0, time.Now().Add(c.duration/time.Duration(c.rounds)))
		}
		row.timed.add(o)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if row.timed.requests == 0 {
		return fmt.Errorf("no request succeeded (errors: %d)", row.first.errors+row.timed.errors)
	}
	row.tokeninfoPerToken = float64(up.CallCount(lwatest.EndpointTokenInfo)) / float64(len(toks))
	row.profilePerToken = float64(up.CallCount(lwatest.EndpointProfile)) / float64(len(toks))
	printReplicas(out, c, row)
	return nil
}

func printReplicas(w io.Writer, c *config, r replicasRow) {
	shared, target := "none (independent verifiers)", fmt.Sprintf("≈ 2 × %d = %d without a shared cache", c.replicas, 2*c.replicas)
	if c.redis != "" {
		shared, target = fmt.Sprintf("redis %s (one client per replica, timeout %v)", c.redis, c.redisTimeout), "≈ 2 whatever the number of replicas with a shared cache"
	}
	phase := fmt.Sprintf("%v", c.duration)
	if c.requests > 0 {
		phase = fmt.Sprintf("%d requests", c.requests)
	}
	fmt.Fprintf(w, "lwabench replicas: %d std replicas, shared cache: %s, %d clients, %d tokens each sent to every replica, upstream delay %v, timed phase %s, GOMAXPROCS %d\n\n",
		c.replicas, shared, c.conns, c.tokens, c.delay, phase, runtime.GOMAXPROCS(0))
	cache := "none"
	if c.redis != "" {
		cache = "redis"
	}
	fmt.Fprintln(w, "| replicas | shared cache | first-use requests | first-use p50 / p90 / p99 | req/s | p50 / p90 / p99 | tokeninfo calls/token | profile calls/token | upstream calls/token | errors |")
	fmt.Fprintln(w, "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(w, "| %d | %s | %d | %s | %.0f | %s | %.2f | %.2f | %.2f | %d |\n",
		c.replicas, cache, r.first.requests, r.first.percentiles(), r.timed.rps(), r.timed.percentiles(),
		r.tokeninfoPerToken, r.profilePerToken, r.tokeninfoPerToken+r.profilePerToken, r.first.errors+r.timed.errors)
	fmt.Fprintf(w, "\nupstream calls per distinct token: %.2f (target %s)\n", r.tokeninfoPerToken+r.profilePerToken, target)
}
