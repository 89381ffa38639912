// Package redislwa is the shared cache tier of package core on Redis: the
// second cache that the replicas of one service share, and the pub/sub
// channel on which Forget, Revoke and RevokeUser reach every replica.
//
// Pass the go-redis client you already have — a single node, a Sentinel
// failover client or a Cluster client:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	v, err := core.NewVerifier(
//		core.WithClientID("amzn1.application-oa2-client.…"),
//		core.WithSharedCache(redislwa.New(rdb)),
//	)
//
// The Verifier picks every key and seals every value before they reach this
// package: Redis never sees a token, a user ID or a profile in the clear.
// Keys are stored as the prefix (WithPrefix, default "lwa:") followed by the
// Verifier's key; all keys about one token share a "{…}" hash tag, so a
// Cluster keeps them in one slot.
//
// Every call is bounded by WithTimeout (default 50 ms) by the package
// itself, whatever the client's own settings: a slow or hanging Redis costs
// a request at most that long, after which the Verifier treats the answer as
// a miss and carries on without the shared tier. The number of calls in
// flight is bounded too (WithMaxInFlight): beyond it calls fail at once
// instead of piling up goroutines behind a hung server.
package redislwa
