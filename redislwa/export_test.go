package redislwa

import "time"

// SetHealthInterval shortens Subscribe's health check for tests.
func SetHealthInterval(c *Cache, d time.Duration) { c.healthInterval = d }

var (
	Slot     = slot
	Sanitize = sanitize
)
