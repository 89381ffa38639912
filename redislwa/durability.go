package redislwa

import (
	"context"
	"log/slog"
	"strings"
)

// WithLogger sets the logger of the warning New's Cache gives once, when
// it first subscribes, if Redis may evict lwa's revocation records (see
// checkEviction). Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *Cache) {
		if l != nil {
			c.log = l
		}
	}
}

// checkEviction warns, once per Cache, when Redis may evict the records
// that revocations live on: an eviction policy (any maxmemory-policy but
// noeviction) with a memory limit. An evicted revocation record lets a
// replica that never heard the revocation (one started since) accept the
// token again. It reads the settings with CONFIG GET; when Redis refuses
// (managed services often disable CONFIG), it says so at Debug level only.
func (c *Cache) checkEviction(ctx context.Context) {
	c.evictionOnce.Do(func() {
		defer c.evictionChecked.Store(true)
		ctx, cancel := context.WithTimeout(ctx, 10*c.timeout)
		defer cancel()
		policy, perr := c.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
		limit, lerr := c.rdb.ConfigGet(ctx, "maxmemory").Result()
		if perr != nil || lerr != nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "redislwa: could not read Redis's eviction settings (CONFIG GET); make sure maxmemory-policy is noeviction")
			return
		}
		p, m := policy["maxmemory-policy"], limit["maxmemory"]
		if p != "" && !strings.EqualFold(p, "noeviction") && m != "" && m != "0" {
			c.log.LogAttrs(ctx, slog.LevelWarn,
				"redislwa: Redis may evict lwa's revocation records: a replica that never heard a revocation could then accept the token again; set maxmemory-policy noeviction (or give lwa a Redis of its own)",
				slog.String("maxmemory_policy", p), slog.String("maxmemory", m))
		}
	})
}
