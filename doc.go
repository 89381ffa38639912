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
//     check, caching, revocation, the error table), and
//     [github.com/go-lwa/lwa/core/observe], the events it reports.
//   - [github.com/go-lwa/lwa/ginlwa], [github.com/go-lwa/lwa/echolwa],
//     [github.com/go-lwa/lwa/echov5lwa], [github.com/go-lwa/lwa/fiberlwa],
//     [github.com/go-lwa/lwa/fiberv3lwa] and [github.com/go-lwa/lwa/stdlwa]:
//     middleware for Gin, Echo v4, Echo v5, Fiber v2, Fiber v3 and
//     net/http. Each has Require (builds its own verifier, panics on an
//     invalid configuration), RequireWith, New (shares one core.Verifier),
//     Optional, NeedFields and OnlyClients (per-route requirements in one
//     line), Profile (the verified profile of a request), Token (its token,
//     for Revoke) and TokenInfo.
//   - [github.com/go-lwa/lwa/grpclwa] and [github.com/go-lwa/lwa/connectlwa]:
//     interceptors for gRPC-Go and Connect, with the error table in their
//     status codes.
//   - [github.com/go-lwa/lwa/redislwa]: the shared cache on Redis that lets
//     many replicas verify each token once and hear each other's
//     revocations, sealed under the fleet's key.
//   - [github.com/go-lwa/lwa/otellwa]: OpenTelemetry metrics and traces;
//     deploy/ has a Grafana dashboard and Prometheus alert rules for them.
//   - [github.com/go-lwa/lwa/lwatest]: a fake LWA server for tests,
//     sign-in (authorization code with PKCE, refresh, code-based linking
//     for TVs and devices) included; it poses as Amazon in any region.
//   - [github.com/go-lwa/lwa/region]: the sign-in, token, code-pair and API
//     URLs of Amazon's regions (NA, EU, FE), for golang.org/x/oauth2.
//
// Programs: cmd/lwademo (a protected API, a sign-in page, a Connect service
// and a TV sign-in, offline against an embedded fake), cmd/lwaauthz (a
// forward-auth server for nginx, Traefik and Envoy) and cmd/lwabench (load
// and outage scenarios).
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
