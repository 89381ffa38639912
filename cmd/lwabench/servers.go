package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/fiberv3lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/stdlwa"
)

// adapterNames are the adapters lwabench knows, in the table's order.
var adapterNames = []string{"gin", "echo", "echov5", "fiber", "fiberv3", "std"}

// The two routes of every server; both answer okBody with the same handler.
const (
	bareRoute      = "/bare"
	protectedRoute = "/protected"
	okBody         = "ok"
)

// server is one adapter's server under test.
type server struct {
	url  string       // http://127.0.0.1:PORT
	stop func() error // shuts it down, waits for it, and returns its serving error
}

// startServer listens on addr and serves name's two routes.
func startServer(name string, v *core.Verifier, addr string) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	switch name {
	case "fiber":
		return startFiber(v, ln, url), nil
	case "fiberv3":
		return startFiberV3(v, ln, url), nil
	}
	var h http.Handler
	switch name {
	case "gin":
		h = ginRouter(v)
	case "echo":
		h = echoRouter(v)
	case "echov5":
		h = echoV5Router(v)
	case "std":
		h = stdRouter(v)
	default:
		ln.Close()
		return nil, fmt.Errorf("unknown adapter %q", name)
	}
	return serveHTTP(h, ln, url), nil
}

// startHandler listens on addr and serves h.
func startHandler(h http.Handler, addr string) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return serveHTTP(h, ln, "http://"+ln.Addr().String()), nil
}

// serveHTTP serves h on ln with net/http.
func serveHTTP(h http.Handler, ln net.Listener, url string) *server {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	return &server{url: url, stop: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}}
}

func ginRouter(v *core.Verifier) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	ok := func(c *gin.Context) { c.String(http.StatusOK, okBody) }
	r := gin.New()
	r.GET(bareRoute, ok)
	r.GET(protectedRoute, ginlwa.New(v), ok)
	return r
}

func echoRouter(v *core.Verifier) http.Handler {
	ok := func(c echo.Context) error { return c.String(http.StatusOK, okBody) }
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET(bareRoute, ok)
	e.GET(protectedRoute, ok, echolwa.New(v))
	return e
}

func echoV5Router(v *core.Verifier) http.Handler {
	ok := func(c *echov5.Context) error { return c.String(http.StatusOK, okBody) }
	e := echov5.New()
	e.GET(bareRoute, ok)
	e.GET(protectedRoute, ok, echov5lwa.New(v))
	return e
}

func stdRouter(v *core.Verifier) http.Handler {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(okBody))
	})
	mux := http.NewServeMux()
	mux.Handle("GET "+bareRoute, ok)
	mux.Handle("GET "+protectedRoute, stdlwa.New(v)(ok))
	return mux
}

func startFiber(v *core.Verifier, ln net.Listener, url string) *server {
	ok := func(c *fiber.Ctx) error { return c.SendString(okBody) }
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get(bareRoute, ok)
	app.Get(protectedRoute, fiberlwa.New(v), ok)
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	return &server{url: url, stop: func() error {
		err := app.ShutdownWithTimeout(10 * time.Second)
		if serr := <-served; serr != nil {
			return serr
		}
		return err
	}}
}

func startFiberV3(v *core.Verifier, ln net.Listener, url string) *server {
	ok := func(c fiberv3.Ctx) error { return c.SendString(okBody) }
	app := fiberv3.New()
	app.Get(bareRoute, ok)
	app.Get(protectedRoute, fiberv3lwa.New(v), ok)
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true}) }()
	return &server{url: url, stop: func() error {
		err := app.ShutdownWithTimeout(10 * time.Second)
		if serr := <-served; serr != nil {
			return serr
		}
		return err
	}}
}
