// Package lwa lets a Go web server accept Login with Amazon (LWA) access
// tokens sent by its own clients (browser apps, TVs and other devices),
// prove that each token was issued to this server's LWA app, and hand the
// verified Amazon customer profile to the handler.
//
// This package holds no code: it documents the module and carries its
// examples. The work is done by its subpackages:
//
//   - [github.com/go-lwa/lwa/core]: the framework-agnostic verifier (token
//     extraction, the tokeninfo and profile calls to Amazon, the audience
//     check, caching, the error table).
//   - [github.com/go-lwa/lwa/ginlwa], [github.com/go-lwa/lwa/echolwa],
//     [github.com/go-lwa/lwa/echov5lwa], [github.com/go-lwa/lwa/fiberlwa],
//     [github.com/go-lwa/lwa/fiberv3lwa] and [github.com/go-lwa/lwa/stdlwa]:
//     middleware for Gin, Echo v4, Echo v5, Fiber v2, Fiber v3 and
//     net/http. Each has Require (builds its own verifier, panics on an
//     invalid configuration), RequireWith, New (shares one core.Verifier),
//     Profile (the verified profile of a request) and TokenInfo.
//   - [github.com/go-lwa/lwa/redislwa]: the shared cache on Redis that lets
//     many replicas verify each token once and hear each other's
//     revocations.
//   - [github.com/go-lwa/lwa/otellwa]: OpenTelemetry metrics and traces.
//   - [github.com/go-lwa/lwa/lwatest]: a fake LWA server for tests,
//     sign-in (authorization code with PKCE, refresh, code-based linking
//     for TVs and devices) included; it poses as Amazon in any region.
//   - [github.com/go-lwa/lwa/region]: the sign-in, token, code-pair and API
//     URLs of Amazon's regions (NA, EU, FE), for golang.org/x/oauth2.
//
// With Gin:
//
//	r := gin.New()
//	r.Use(ginlwa.Require()) // client ID from LWA_CLIENT_ID
//	r.GET("/me", func(c *gin.Context) {
//		p, ok := ginlwa.Profile(c) // core.Profile{UserID, Email, Name, PostalCode}
//		if !ok {
//			c.AbortWithStatus(http.StatusUnauthorized)
//			return
//		}
//		c.JSON(http.StatusOK, p)
//	})
//
// Every adapter also puts the profile into the request's context.Context,
// where core.FromContext finds it, and answers every rejection with the same
// JSON body, status and headers.
package lwa
