package redislwa

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = time.Second
)

// Subscribe starts delivering the messages published on the channel to
// onMessage, from one background goroutine, until stop is called; stop
// closes the subscription and waits for that goroutine to end.
//
// onReset is called, on the same goroutine, each time the subscription is
// confirmed by Redis: the first time, and again after every reconnection
// (go-redis reconnects and subscribes again by itself after a network error
// or a server restart; the loop retries with a backoff while Redis is
// unreachable). Messages published while no subscription was in place are
// lost, which is what onReset tells the Verifier. A connection that stays
// silent even to a PING for two health intervals (5 s each) is replaced, so
// a half-open connection does not go unnoticed.
//
// Subscribe is not bounded by WithTimeout: it runs until stopped. stop
// returns at once in the usual case; only when it comes while a new
// connection is being set up to a hung server does it wait for that attempt
// to fail by the client's own dial and read timeouts.
func (c *Cache) Subscribe(onMessage func(msg []byte), onReset func()) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscriber{
		c:         c,
		onMessage: onMessage,
		onReset:   onReset,
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	go s.run()
	return s.stop
}

type subscriber struct {
	c         *Cache
	onMessage func([]byte)
	onReset   func()
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once

	mu      sync.Mutex
	ps      *redis.PubSub
	stopped bool
}

func (s *subscriber) stop() {
	s.once.Do(func() {
		s.cancel()
		s.mu.Lock()
		s.stopped = true
		ps := s.ps
		s.mu.Unlock()
		if ps != nil {
			_ = ps.Close() // unblocks a Receive in progress
		}
		<-s.done
	})
}

// open returns a new PubSub (not yet connected), or nil once stopped.
func (s *subscriber) open() *redis.PubSub {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.ps = s.c.rdb.Subscribe(s.ctx)
	return s.ps
}

func (s *subscriber) run() {
	defer close(s.done)
	backoff := minBackoff
	for first := true; ; first = false {
		if !first && !s.sleep(&backoff) {
			return
		}
		ps := s.open()
		if ps == nil {
			return
		}
		// Subscribe records the channel even when it fails; but a write
		// that failed on a fresh connection may leave go-redis connected
		// and subscribed to nothing, so start over with a new PubSub.
		if err := ps.Subscribe(s.ctx, s.c.channel); err != nil {
			_ = ps.Close()
			continue
		}
		if s.receive(ps) {
			backoff = minBackoff
		}
		_ = ps.Close()
		if s.ctx.Err() != nil {
			return
		}
	}
}

// receive delivers what ps receives until stop, or until ps must be
// replaced (a panic in the client, or no answer to a PING). It reports
// whether anything was received.
func (s *subscriber) receive(ps *redis.PubSub) (received bool) {
	backoff := minBackoff
	pinged := false
	for {
		msg, err := receiveOne(s.ctx, ps, s.c.healthInterval)
		if s.ctx.Err() != nil {
			return received
		}
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, errPanic):
				return received
			case errors.As(err, &ne) && ne.Timeout():
				if pinged {
					// Silent even to a PING: replace the connection.
					if h := s.c.testHookSilent; h != nil {
						h()
					}
					return received
				}
				pinged = ps.Ping(s.ctx) == nil
			default:
				// go-redis reconnects (and subscribes again) on the next
				// Receive; do not hammer an unreachable server meanwhile.
				pinged = false
				if !s.sleep(&backoff) {
					return received
				}
			}
			continue
		}
		received, pinged, backoff = true, false, minBackoff
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == s.c.channel {
				s.c.checkEviction(s.ctx)
				s.onReset()
			}
		case *redis.Message:
			if m.Channel == s.c.channel {
				s.onMessage([]byte(m.Payload))
			}
		}
	}
}

// receiveOne is ps.ReceiveTimeout, with a panic in go-redis (on an answer it
// does not expect) turned into errPanic.
func receiveOne(ctx context.Context, ps *redis.PubSub, timeout time.Duration) (msg any, err error) {
	defer func() {
		if recover() != nil {
			msg, err = nil, errPanic
		}
	}()
	return ps.ReceiveTimeout(ctx, timeout)
}

// sleep waits *backoff (then doubles it, up to maxBackoff) and reports
// false if stop came first.
func (s *subscriber) sleep(backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	*backoff = min(2**backoff, maxBackoff)
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}
