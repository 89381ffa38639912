package lwa_test

// The README's Gin quick start, imports included; TestREADMEQuickStarts
// runs it.

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/go-lwa/lwa/ginlwa"
)

func newGinRouter() *gin.Engine {
	r := gin.New()
	r.Use(ginlwa.Require()) // client ID from LWA_CLIENT_ID
	r.GET("/me", func(c *gin.Context) {
		p, ok := ginlwa.Profile(c) // or core.FromContext(c): a *gin.Context answers it
		if !ok {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.JSON(http.StatusOK, p)
	})
	return r // r.Run(":8080")
}
