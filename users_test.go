package lwa_test

// Tests written the way a user of each adapter writes them: a fake LWA
// server and a verifier that follow the test (lwatest.Start,
// Server.Verifier), the app's own router, no goroutine left behind
// (TestMain checks with goleak), no log output.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/fiberv3lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/internal/conformance"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// TestMain closes what the examples' Require built, then fails the run if
// any goroutine is left.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	code := m.Run()
	if err := core.CloseRequired(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := goleak.Find(conformance.FasthttpLeakOptions()...); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	os.Exit(code)
}

// checkUser is what every user-style test checks: the signed-in customer is
// greeted, a missing token is a 400, a token the fake revoked is refused at
// once.
func checkUser(t *testing.T, srv *lwatest.Server, serve func(req *http.Request) (int, string)) {
	t.Helper()
	tok := srv.Token(core.Profile{Name: "Ada"})
	get := func(token string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return serve(req)
	}
	if code, body := get(tok); code != http.StatusOK || body != "hello Ada" {
		t.Fatalf("signed in: %d %q", code, body)
	}
	if code, _ := get(""); code != http.StatusBadRequest {
		t.Fatalf("no token: %d", code)
	}
	srv.Revoke(tok)
	if code, _ := get(tok); code != http.StatusBadRequest {
		t.Fatalf("revoked token: %d", code)
	}
}

func TestUserNetHTTP(t *testing.T) {
	srv := lwatest.Start(t)
	mux := http.NewServeMux()
	mux.Handle("GET /me", stdlwa.New(srv.Verifier(t))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		io.WriteString(w, "hello "+p.Name)
	})))
	checkUser(t, srv, func(req *http.Request) (int, string) {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	})
}

func TestUserGin(t *testing.T) {
	srv := lwatest.Start(t)
	r := gin.New()
	r.GET("/me", ginlwa.New(srv.Verifier(t)), func(c *gin.Context) {
		p, _ := ginlwa.Profile(c)
		c.String(http.StatusOK, "hello "+p.Name)
	})
	checkUser(t, srv, func(req *http.Request) (int, string) {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	})
}

func TestUserEchoV5(t *testing.T) {
	srv := lwatest.Start(t)
	e := echov5.New()
	e.GET("/me", func(c *echov5.Context) error {
		p, _ := echov5lwa.Profile(c)
		return c.String(http.StatusOK, "hello "+p.Name)
	}, echov5lwa.New(srv.Verifier(t)))
	checkUser(t, srv, func(req *http.Request) (int, string) {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	})
}

func TestUserEchoV4(t *testing.T) {
	srv := lwatest.Start(t)
	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		p, _ := echolwa.Profile(c)
		return c.String(http.StatusOK, "hello "+p.Name)
	}, echolwa.New(srv.Verifier(t)))
	checkUser(t, srv, func(req *http.Request) (int, string) {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	})
}

func TestUserFiberV3(t *testing.T) {
	srv := lwatest.Start(t)
	app := fiberv3.New()
	app.Get("/me", fiberv3lwa.New(srv.Verifier(t)), func(c fiberv3.Ctx) error {
		p, _ := fiberv3lwa.Profile(c)
		return c.SendString("hello " + p.Name)
	})
	checkUser(t, srv, func(req *http.Request) (int, string) { return read(t)(app.Test(req)) })
}

// read returns the status and body of a response from a Fiber app's Test.
func read(t *testing.T) func(*http.Response, error) (int, string) {
	return func(resp *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

func TestUserFiberV2(t *testing.T) {
	srv := lwatest.Start(t)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/me", fiberlwa.New(srv.Verifier(t)), func(c *fiber.Ctx) error {
		p, _ := fiberlwa.Profile(c)
		return c.SendString("hello " + p.Name)
	})
	checkUser(t, srv, func(req *http.Request) (int, string) { return read(t)(app.Test(req)) })
}

// TestUserRequireCloses: a middleware built by Require leaves no goroutine
// behind once core.CloseRequired runs (TestMain's goleak check).
func TestUserRequireCloses(t *testing.T) {
	srv := lwatest.Start(t)
	t.Cleanup(func() {
		if err := core.CloseRequired(); err != nil {
			t.Error(err)
		}
	})
	mw := stdlwa.Require(core.WithClientID(lwatest.ClientID), core.WithEndpoint(srv.URL))
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token(core.Profile{Name: "Ada"}))
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("got %d", w.Code)
	}
}
