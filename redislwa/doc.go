// Package redislwa is the shared cache tier of package core on Redis: the
// second cache that the replicas of one service share, and the pub/sub
// channel on which Forget, Revoke and RevokeUser reach every replica.
//
// Pass the go-redis client you already have — a single node, a Sentinel
// failover client or a Cluster client — and give every replica the same
// fleet key (core.WithSharedKeys, or LWA_SHARED_KEYS: comma-separated
// base64 keys of at least 32 random bytes, made with openssl rand -base64
// 32), which never enters Redis:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	v, err := core.NewVerifier(
//		core.WithClientID("amzn1.application-oa2-client.…"),
//		core.WithSharedCache(redislwa.New(rdb)), // the key from LWA_SHARED_KEYS
//	)
//
// The Verifier picks every key and seals or signs every value before they
// reach this package, under the fleet key (and, for entries, the token):
// Redis never sees a token, a user ID or a profile in the clear, and whoever
// can write to it cannot forge an entry, a revocation or a message. Keys are
// stored as the prefix (WithPrefix, default "lwa:") followed by the
// Verifier's key; all keys about one token share a "{…}" hash tag, so a
// Cluster keeps them in one slot and a lookup is one round trip.
//
// Every call is bounded by WithTimeout (default 50 ms) by the package
// itself, whatever the client's own settings: a slow or hanging Redis costs
// a verification at most that long once, after which the Verifier skips the
// shared tier until a probe finds Redis back. The number of calls in flight
// is bounded too (WithMaxInFlight): beyond it calls fail at once
// (ErrTooManyCalls) instead of piling up goroutines behind a hung server.
//
// What Redis needs for revocations to hold: maxmemory-policy noeviction (an
// evicted revocation record lets a replica that never heard the revocation
// accept the token again; New's Cache warns once, through WithLogger, when
// it can read another setting), and persistence (RDB or AOF) if replicas may
// start while revocations of the last hour matter. Protect it like any
// shared infrastructure: its own network, AUTH, TLS.
package redislwa
