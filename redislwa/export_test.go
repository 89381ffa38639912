package redislwa

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// SetHealthInterval shortens Subscribe's health check for tests.
func SetHealthInterval(c *Cache, d time.Duration) { c.healthInterval = d }

// SetSilentHook sets a function called when Subscribe replaces a silent
// connection.
func SetSilentHook(c *Cache, f func()) { c.testHookSilent = f }

// RdbOf returns the client of c.
func RdbOf(c *Cache) redis.UniversalClient { return c.rdb }

var (
	Slot     = slot
	Sanitize = sanitize
)

// EvictionChecked reports whether c has read Redis's eviction settings.
func EvictionChecked(c *Cache) bool { return c.evictionChecked.Load() }
