package lwa_test

// The README's Echo v5 quick start, imports included; TestREADMEQuickStarts
// runs it.

import (
	"net/http"

	echov5 "github.com/labstack/echo/v5"

	"github.com/go-lwa/lwa/echov5lwa"
)

func newEchoV5() *echov5.Echo {
	e := echov5.New()
	e.Use(echov5lwa.Require()) // client ID from LWA_CLIENT_ID
	e.GET("/me", func(c *echov5.Context) error {
		p, ok := echov5lwa.Profile(c) // or core.FromContext(c.Request().Context())
		if !ok {
			return echov5.ErrUnauthorized
		}
		return c.JSON(http.StatusOK, p)
	})
	return e // e.Start(":8080")
}
