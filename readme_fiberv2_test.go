package lwa_test

// The README's Fiber v2 quick start, imports included;
// TestREADMEQuickStarts runs it.

import (
	"github.com/gofiber/fiber/v2"

	"github.com/go-lwa/lwa/fiberlwa"
)

func newFiberV2() *fiber.App {
	app := fiber.New()
	app.Use(fiberlwa.Require()) // client ID from LWA_CLIENT_ID
	app.Get("/me", func(c *fiber.Ctx) error {
		p, ok := fiberlwa.Profile(c) // or core.FromContext(c.UserContext())
		if !ok {
			return fiber.ErrUnauthorized
		}
		return c.JSON(p)
	})
	return app // app.Listen(":8080")
}
