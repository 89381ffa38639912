package lwa_test

// The Go snippets of README.md, each the body of a function below, so that
// they compile with the module; TestREADMESnippets checks that every Go
// block of README.md is one of them, verbatim.

import (
	"bufio"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/fiberv3lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
	"github.com/go-lwa/lwa/redislwa"
	"github.com/go-lwa/lwa/stdlwa"
)

func readmeGinShort(r *gin.Engine) {
	r.Use(ginlwa.Require()) // client ID from LWA_CLIENT_ID
}

func readmeNetHTTP() {
	mux := http.NewServeMux()
	protect := stdlwa.Require() // client ID from LWA_CLIENT_ID
	mux.Handle("GET /me", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := stdlwa.Profile(r) // or core.FromContext(r.Context())
		if !ok {
			http.Error(w, "no profile", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(p)
	})))
}

func readmeGin() {
	r := gin.New()
	r.Use(ginlwa.Require())
	r.GET("/me", func(c *gin.Context) {
		p, ok := ginlwa.Profile(c) // or core.FromContext(c.Request.Context())
		if !ok {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.JSON(http.StatusOK, p)
	})
}

func readmeEchoV5() {
	e := echov5.New()
	e.Use(echov5lwa.Require())
	e.GET("/me", func(c *echov5.Context) error {
		p, ok := echov5lwa.Profile(c) // or core.FromContext(c.Request().Context())
		if !ok {
			return echov5.ErrUnauthorized
		}
		return c.JSON(http.StatusOK, p)
	})
}

func readmeEchoV4() {
	e := echo.New()
	e.Use(echolwa.Require())
	e.GET("/me", func(c echo.Context) error {
		p, ok := echolwa.Profile(c) // or core.FromContext(c.Request().Context())
		if !ok {
			return echo.ErrUnauthorized
		}
		return c.JSON(http.StatusOK, p)
	})
}

func readmeFiberV3() {
	app := fiberv3.New()
	app.Use(fiberv3lwa.Require())
	app.Get("/me", func(c fiberv3.Ctx) error {
		p, ok := fiberv3lwa.Profile(c) // or core.FromContext(c)
		if !ok {
			return fiberv3.ErrUnauthorized
		}
		return c.JSON(p)
	})
}

func readmeFiberV2() {
	app := fiber.New()
	app.Use(fiberlwa.Require())
	app.Get("/me", func(c *fiber.Ctx) error {
		p, ok := fiberlwa.Profile(c) // or core.FromContext(c.UserContext())
		if !ok {
			return fiber.ErrUnauthorized
		}
		return c.JSON(p)
	})
}

func readmeOneVerifier(webID, deviceID string, r *gin.Engine, e *echov5.Echo) {
	v, err := core.NewVerifier(core.WithClientID(webID, deviceID))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	api := r.Group("/api", ginlwa.New(v))
	api.GET("/me", func(c *gin.Context) { p, _ := ginlwa.Profile(c); c.JSON(http.StatusOK, p) })
	e.Use(echov5lwa.New(v)) // same cache: a token verified by one is known to the other
}

func readmePolicy(v *core.Verifier, r *gin.Engine, hello gin.HandlerFunc) {
	// A public page that greets signed-in customers by name.
	r.GET("/hello", ginlwa.New(v, ginlwa.Config{Policy: core.Policy{Optional: true}}), hello)

	// A route that needs the customer's postal code, sharing v's cache.
	r.GET("/shipping", ginlwa.New(v, ginlwa.Config{Policy: core.Policy{RequiredFields: []string{core.FieldPostalCode}}}), hello)

	// Health checks skip verification; rejections become HTML.
	r.Use(ginlwa.RequireWith(ginlwa.Config{
		Skip: func(c *gin.Context) bool { return c.FullPath() == "/healthz" },
		ErrorHandler: func(c *gin.Context, e *core.Error) {
			c.Data(e.Status, "text/html; charset=utf-8", []byte("<p>Please sign in again.</p>"))
		},
	}))
}

func readmeDetails(r *gin.Engine) {
	r.GET("/token", func(c *gin.Context) {
		info, _ := ginlwa.TokenInfo(c) // which client ID, issued and expiring when
		c.JSON(http.StatusOK, gin.H{"client_id": info.ClientID, "expires_at": info.ExpiresAt})
	})
}

func readmeSources() (*core.Verifier, error) {
	return core.NewVerifier(
		core.WithTokenCookie("lwa_token"),      // a cookie…
		core.WithTokenHeader("X-Amazon-Token"), // …and/or a header of your own
		core.WithDocumentedSources(false),      // instead of Authorization, x-amz-access-token, ?access_token
		core.WithRFC6750Statuses(),             // 401/403 as RFC 6750 says, for "refresh on 401" clients
	)
}

func readmeLogout(v *core.Verifier, mux *http.ServeMux) {
	mux.Handle("POST /logout", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := stdlwa.Token(r) // exactly as the middleware extracted it, from any source
		if err := v.Revoke(r.Context(), tok); err != nil { // stop accepting it, on every replica
			log.Printf("logout: %v", err) // the other replicas may not have heard it
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("POST /logout-everywhere", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		_ = v.RevokeUser(r.Context(), p.UserID) // every token issued until now
		w.WriteHeader(http.StatusNoContent)
	})))
}

func readmeErrors(v *core.Verifier, token string, w http.ResponseWriter, r *http.Request) {
	p, err := v.Verify(r.Context(), token)
	if err != nil {
		var e *core.Error
		if errors.As(err, &e) && e.Status >= 500 {
			log.Printf("Login with Amazon trouble: %v", e) // never carries the token
		}
		core.WriteError(w, err) // the table's status, headers and body
		return
	}
	if p.PostalCode == "" {
		core.WriteError(w, core.NewError(core.ErrInsufficientScope, "this route needs your postal code"))
		return
	}
	core.WriteError(w, core.ErrUpstream) // a bare sentinel is written as its row: 502 server_error
}

func readmeReplicas() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"}) // the client you already have (Cluster and Sentinel too)
	// The fleet's key comes from LWA_SHARED_KEYS (or core.WithSharedKeys):
	// the same on every replica, never stored in Redis.
	v, err := core.NewVerifier(core.WithSharedCache(redislwa.New(rdb)))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
}

func readmeObservability() {
	obs, err := otellwa.New(otellwa.WithMeterProvider(otel.GetMeterProvider()), otellwa.WithTracerProvider(otel.GetTracerProvider()))
	if err != nil {
		log.Fatal(err)
	}
	v, err := core.NewVerifier(core.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
}

func readmeResilience() (*core.Verifier, error) {
	return core.NewVerifier(
		core.WithCircuitBreaker(5, 2*time.Second), // the default: 503 + Retry-After while Amazon fails
		core.WithRefreshAhead(0.2),                // the default: re-verify in the last 20 % of the TTL, in the background
		core.WithStaleIfError(10*time.Minute),     // opt-in: keep serving verified tokens while Amazon fails
	)
}

func readmeSignIn(srv *lwatest.Server, id, secret string) *oauth2.Config {
	srv.RegisterApp(lwatest.App{ClientID: id, ClientSecret: secret, RedirectURIs: []string{"https://app.example/callback"}})
	srv.SetCustomer(core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice"})
	srv.SetConsent(lwatest.AutoApprove) // no browser: approve at once
	return &oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: "https://app.example/callback", Scopes: []string{"profile"},
		Endpoint: oauth2.Endpoint{AuthURL: srv.AuthURL(), TokenURL: srv.TokenURL()},
	}
}

// TestMe is the README's example of a test in a user's package: a fake LWA
// server and a verifier that follows it, both closed with the test.
func TestMe(t *testing.T) {
	srv := lwatest.Start(t) // closed when the test ends
	v := srv.Verifier(t)    // accepts lwatest.ClientID, quiet, closed with the test
	tok := srv.Token(core.Profile{Name: "Ada"})

	r := gin.New()
	r.GET("/me", ginlwa.New(v), func(c *gin.Context) {
		p, _ := ginlwa.Profile(c)
		c.String(http.StatusOK, "hello "+p.Name)
	})
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Body.String() != "hello Ada" {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}

	srv.Revoke(tok) // the verifier forgets it at once
	w = httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("revoked token: got %d", w.Code)
	}
}

// TestREADMESnippets checks that every Go block of README.md is, line for
// line (indentation aside), in this file, which compiles.
func TestREADMESnippets(t *testing.T) {
	src, err := os.ReadFile("readme_snippets_test.go")
	if err != nil {
		t.Fatal(err)
	}
	here := normalize(string(src))
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(string(readme)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case in:
			cur = append(cur, line)
		}
	}
	if len(blocks) < 10 {
		t.Fatalf("README.md has %d Go blocks; expected the quick starts and more", len(blocks))
	}
	for i, b := range blocks {
		if !strings.Contains(here, normalize(b)) {
			t.Errorf("README Go block %d is not in readme_snippets_test.go (so it is not compiled):\n%s", i+1, b)
		}
	}
}

// normalize drops indentation and blank lines.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}
