package lwa_test

// The README's Echo v4 quick start, imports included; TestREADMEQuickStarts
// runs it.

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/go-lwa/lwa/echolwa"
)

func newEchoV4() *echo.Echo {
	e := echo.New()
	e.Use(echolwa.Require()) // client ID from LWA_CLIENT_ID
	e.GET("/me", func(c echo.Context) error {
		p, ok := echolwa.Profile(c) // or core.FromContext(c.Request().Context())
		if !ok {
			return echo.ErrUnauthorized
		}
		return c.JSON(http.StatusOK, p)
	})
	return e // e.Start(":8080")
}
