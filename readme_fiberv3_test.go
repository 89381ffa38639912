package lwa_test

// The README's Fiber v3 quick start, imports included;
// TestREADMEQuickStarts runs it.

import (
	fiberv3 "github.com/gofiber/fiber/v3"

	"github.com/go-lwa/lwa/fiberv3lwa"
)

func newFiberV3() *fiberv3.App {
	app := fiberv3.New()
	app.Use(fiberv3lwa.Require()) // client ID from LWA_CLIENT_ID
	app.Get("/me", func(c fiberv3.Ctx) error {
		p, ok := fiberv3lwa.Profile(c) // or core.FromContext(c): a fiber.Ctx answers it
		if !ok {
			return fiberv3.ErrUnauthorized
		}
		return c.JSON(p)
	})
	return app // app.Listen(":8080")
}
