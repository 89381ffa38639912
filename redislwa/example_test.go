package redislwa_test

import (
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/redislwa"
)

// Share verified tokens, and their revocations, between the replicas of a
// service through the Redis they already use. Every replica is given the
// same fleet key, which never enters Redis: here from LWA_SHARED_KEYS
// (comma-separated base64, made with openssl rand -base64 32), which
// NewVerifier reads when core.WithSharedKeys is not given.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()

	v, err := core.NewVerifier(
		core.WithClientID("amzn1.application-oa2-client.0123456789abcdef"),
		core.WithSharedCache(redislwa.New(rdb)),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = v // hand v to an adapter: ginlwa.New(v), stdlwa.New(v), ...
}

// A Redis Cluster (or Sentinel: redis.NewFailoverClient) works the same
// way; the options set the key prefix, the invalidation channel and the
// bound on every call.
func ExampleNew_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"redis-0:6379", "redis-1:6379", "redis-2:6379"},
	})
	defer rdb.Close()

	cache := redislwa.New(rdb,
		redislwa.WithPrefix("myapp:lwa:"),
		redislwa.WithChannel("myapp:lwa:invalidate"),
		redislwa.WithTimeout(30*time.Millisecond),
	)
	_, _ = core.NewVerifier(core.WithSharedCache(cache))
}
