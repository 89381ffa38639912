package core

import (
	"context"
	"time"
)

// SharedCache is a second cache tier shared by the replicas of one service
// (package redislwa implements it on Redis). Pass one to WithSharedCache.
//
// It is a plain byte store: the Verifier chooses every key and seals every
// value itself, so an implementation never sees a token, a user ID or a
// profile in the clear. Keys are printable ASCII; all keys about one token
// share the "{…}" hash tag, so a Redis Cluster keeps them in one slot.
//
// Every method must be safe for concurrent use and should return promptly:
// the Verifier treats an error (or a slow answer) as a miss and falls back to
// its local tier and to Amazon, so a broken shared tier never fails a
// request. Implementations should bound each call with their own timeout.
type SharedCache interface {
	// Get returns the values stored under keys, in the same order; a key
	// that holds nothing gives a nil value.
	Get(ctx context.Context, keys ...string) ([][]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value under key for ttl only if key holds nothing, and
	// reports whether it did. The Verifier uses it as a short lock so that
	// one replica asks Amazon while the others wait for its answer.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes keys; a missing key is not an error.
	Delete(ctx context.Context, keys ...string) error
	// Publish sends msg to the onMessage function of every Subscribe, on
	// every replica, the sender's included.
	Publish(ctx context.Context, msg []byte) error
	// Subscribe starts delivering published messages to onMessage, in the
	// background, until the returned stop function is called (stop waits for
	// the delivery goroutine to end). onReset is called each time the
	// subscription is (re)established: messages may have been missed before
	// it, and the Verifier then drops its whole local tier.
	Subscribe(onMessage func(msg []byte), onReset func()) (stop func())
}

// WithSharedCache adds a second cache tier shared by replicas (see
// SharedCache and package redislwa). A local miss asks it before Amazon, a
// verification fills it, concurrent first uses of one token on several
// replicas ask Amazon once, and Forget, Revoke and RevokeUser reach every
// replica through it. With a shared cache the local tier keeps an entry at
// most WithLocalCacheTTL (default 30 s), so that a missed invalidation heals
// in bounded time. Default: none.
func WithSharedCache(c SharedCache) Option {
	return func(cfg *config) { cfg.shared = c }
}
