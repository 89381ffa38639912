package redislwa

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-lwa/lwa/core"
)

// Defaults of the options.
const (
	DefaultTimeout     = 50 * time.Millisecond
	DefaultPrefix      = "lwa:"
	DefaultChannel     = "lwa:invalidate"
	DefaultMaxInFlight = 1024
)

// ErrTooManyCalls is returned (wrapped) instead of sending a command when
// WithMaxInFlight calls are already waiting for Redis: a hung server then
// costs nothing but a fast miss.
var ErrTooManyCalls = errors.New("redislwa: too many Redis calls in flight")

var _ core.SharedCache = (*Cache)(nil)

// Cache is a core.SharedCache on Redis. Create it with New; it is safe for
// concurrent use. It does not own the client: closing the client is the
// caller's business (after the Verifier using the Cache is done with it).
type Cache struct {
	rdb         redis.UniversalClient
	timeout     time.Duration
	prefix      string
	channel     string
	maxInFlight int
	routing     routing
	inFlight    chan struct{} // semaphore: one token per call waiting for Redis

	log             *slog.Logger
	evictionOnce    sync.Once
	evictionChecked atomic.Bool

	healthInterval time.Duration // Subscribe: silence before a PING, then before a reconnect
	testHookSilent func()        // called when Subscribe replaces a silent connection
}

// routing says when several keys may go in one command.
type routing uint8

const (
	oneNode    routing = iota // *redis.Client (single node, Sentinel): always
	slotted                   // *redis.ClusterClient: when all keys share a hash slot
	hashTagged                // anything else (Ring, wrappers): when all keys share a hash key
)

// Option configures a Cache.
type Option func(*Cache)

// WithTimeout bounds every Redis call the Cache makes (default 50 ms; a
// non-positive d keeps the default). The bound is enforced by the Cache
// itself, not by the client: the caller gets an error wrapping
// context.DeadlineExceeded after d even if Redis hangs and the client was not
// built with ContextTimeoutEnabled. The command then finishes (or times out
// by the client's own ReadTimeout) in the background, counted against
// WithMaxInFlight. Keep it well below the latency budget of a request.
func WithTimeout(d time.Duration) Option {
	return func(c *Cache) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithPrefix sets the string prepended to every key (default "lwa:"), so
// that several services, or several apps, can share one Redis. It should
// not contain '{': Redis Cluster would hash on the prefix and put every key
// in one slot.
func WithPrefix(p string) Option {
	return func(c *Cache) { c.prefix = p }
}

// WithChannel sets the pub/sub channel that invalidations travel on
// (default "lwa:invalidate"). Every replica of one service must use the
// same channel, and services that do not share tokens should not.
func WithChannel(name string) Option {
	return func(c *Cache) {
		if name != "" {
			c.channel = name
		}
	}
}

// WithMaxInFlight bounds the number of calls waiting for Redis at once,
// those abandoned after WithTimeout included (default 1024; a non-positive n
// keeps the default). Beyond it, calls fail at once with ErrTooManyCalls, so a
// hanging Redis cannot pile up goroutines.
func WithMaxInFlight(n int) Option {
	return func(c *Cache) {
		if n > 0 {
			c.maxInFlight = n
		}
	}
}

// New returns a Cache on rdb: a *redis.Client (single node, or Sentinel
// through redis.NewFailoverClient), a *redis.ClusterClient, or any other
// redis.UniversalClient. New sends nothing to Redis.
func New(rdb redis.UniversalClient, opts ...Option) *Cache {
	if rdb == nil {
		panic("redislwa: New with a nil client")
	}
	c := &Cache{
		rdb:            rdb,
		timeout:        DefaultTimeout,
		prefix:         DefaultPrefix,
		channel:        DefaultChannel,
		maxInFlight:    DefaultMaxInFlight,
		routing:        hashTagged,
		log:            slog.Default(),
		healthInterval: 5 * time.Second,
	}
	switch rdb.(type) {
	case *redis.Client:
		c.routing = oneNode
	case *redis.ClusterClient:
		c.routing = slotted
	}
	for _, o := range opts {
		o(c)
	}
	c.inFlight = make(chan struct{}, c.maxInFlight)
	return c
}

// Get returns the values stored under keys, in order, with nil for a key
// that holds nothing (or holds something other than a string, which this
// package never writes). Keys about one token share a hash slot and are read
// with one MGET; keys in different slots of a Cluster are read with a
// pipeline of GETs.
func (c *Cache) Get(ctx context.Context, keys ...string) ([][]byte, error) {
	if len(keys) == 0 {
		return [][]byte{}, nil
	}
	full := c.fullKeys(keys)
	return run(c, ctx, "GET", func(ctx context.Context) ([][]byte, error) {
		if c.together(full) {
			return c.mget(ctx, full)
		}
		return c.getEach(ctx, full)
	})
}

func (c *Cache) mget(ctx context.Context, keys []string) ([][]byte, error) {
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("MGET answered %d values for %d keys", len(vals), len(keys))
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = []byte(s)
		}
	}
	return out, nil
}

func (c *Cache) getEach(ctx context.Context, keys []string) ([][]byte, error) {
	cmds := make([]*redis.StringCmd, len(keys))
	_, _ = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	out := make([][]byte, len(keys))
	for i, cmd := range cmds {
		switch err := cmd.Err(); {
		case err == nil:
			out[i] = []byte(cmd.Val())
		case errors.Is(err, redis.Nil), redis.HasErrorPrefix(err, "WRONGTYPE"):
			// nothing, or not ours: a miss, as MGET reports it
		default:
			return nil, err
		}
	}
	return out, nil
}

// Set stores value under key for ttl (SET key value PX ttl; ttl is rounded
// up to a whole millisecond and must be positive: nothing is ever stored
// without an expiry).
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ms, err := millis(ttl)
	if err != nil {
		return fmt.Errorf("redislwa: SET: %w", err)
	}
	k := c.prefix + key
	_, err = run(c, ctx, "SET", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.rdb.Do(ctx, "set", k, value, "px", ms).Err()
	})
	return err
}

// SetNX stores value under key for ttl only if key holds nothing (SET key
// value NX PX ttl), and reports whether it did.
func (c *Cache) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ms, err := millis(ttl)
	if err != nil {
		return false, fmt.Errorf("redislwa: SETNX: %w", err)
	}
	k := c.prefix + key
	return run(c, ctx, "SETNX", func(ctx context.Context) (bool, error) {
		err := c.rdb.Do(ctx, "set", k, value, "nx", "px", ms).Err()
		if errors.Is(err, redis.Nil) {
			return false, nil // the key holds something
		}
		return err == nil, err
	})
}

// Delete removes keys (DEL; one DEL per key when a Cluster's keys are in
// different slots). A missing key is not an error.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := c.fullKeys(keys)
	_, err := run(c, ctx, "DEL", func(ctx context.Context) (struct{}, error) {
		if c.together(full) {
			return struct{}{}, c.rdb.Del(ctx, full...).Err()
		}
		_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range full {
				p.Del(ctx, k)
			}
			return nil
		})
		return struct{}{}, err
	})
	return err
}

// Publish sends msg on the channel (PUBLISH), to every Subscribe on every
// replica, this one's included.
func (c *Cache) Publish(ctx context.Context, msg []byte) error {
	_, err := run(c, ctx, "PUBLISH", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, c.rdb.Publish(ctx, c.channel, msg).Err()
	})
	return err
}

func (c *Cache) fullKeys(keys []string) []string {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = c.prefix + k
	}
	return full
}

// together reports whether keys can go in one multi-key command without
// a CROSSSLOT error (or, for a Ring, without reaching the wrong shard).
func (c *Cache) together(keys []string) bool {
	switch c.routing {
	case oneNode:
		return true
	case slotted:
		s := slot(keys[0])
		for _, k := range keys[1:] {
			if slot(k) != s {
				return false
			}
		}
		return true
	default:
		h := hashKey(keys[0])
		for _, k := range keys[1:] {
			if hashKey(k) != h {
				return false
			}
		}
		return true
	}
}

func millis(ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("ttl %v is not positive", ttl)
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

type result[T any] struct {
	v   T
	err error
}

var errPanic = errors.New("the Redis client panicked")

// run runs fn in a goroutine of its own and waits for it at most c.timeout
// (or until ctx ends): go-redis only honours context deadlines when the
// client was built with ContextTimeoutEnabled, and a hung server must not
// hold the caller. An abandoned fn keeps its in-flight token until it
// returns; when none is left, run fails at once.
func run[T any](c *Cache, ctx context.Context, op string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("redislwa: %s: %w", op, err)
	}
	select {
	case c.inFlight <- struct{}{}:
	default:
		return zero, fmt.Errorf("redislwa: %s: %w", op, ErrTooManyCalls)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel() // also aborts an abandoned call on clients that honour contexts
	done := make(chan result[T], 1)
	go func() {
		var r result[T]
		defer func() {
			if recover() != nil {
				r = result[T]{err: errPanic}
			}
			done <- r
			<-c.inFlight
		}()
		r.v, r.err = fn(ctx)
	}()
	var r result[T]
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done: // answered just in time
		default:
			if err := parent.Err(); err != nil {
				return zero, fmt.Errorf("redislwa: %s: %w", op, err)
			}
			return zero, fmt.Errorf("redislwa: %s: no answer within %v: %w", op, c.timeout, context.DeadlineExceeded)
		}
	}
	if r.err != nil {
		return zero, fmt.Errorf("redislwa: %s: %w", op, sanitize(r.err))
	}
	return r.v, nil
}

// sanitize keeps errors whose text is known to carry no data (context and
// network errors, the client's own sentinels, Redis' error replies) and
// replaces any other one, such as a protocol parse error that may quote
// reply bytes, by a generic error: an error never carries a value.
func sanitize(err error) error {
	var (
		re redis.Error
		ne net.Error
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted), errors.Is(err, errPanic),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &re), errors.As(err, &ne):
		return err
	}
	return fmt.Errorf("unexpected answer from the Redis client (%T)", err)
}
