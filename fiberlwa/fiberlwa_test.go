package fiberlwa_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/internal/conformance"
	"github.com/go-lwa/lwa/lwatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, append(conformance.LeakOptions(), conformance.FasthttpLeakOptions()...)...)
}

// listen serves app on a 127.0.0.1 listener until the test ends, and
// returns its base URL.
func listen(t testing.TB, app *fiber.App) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		assert.NoError(t, app.ShutdownWithTimeout(10*time.Second))
		assert.NoError(t, <-done)
	})
	return "http://" + ln.Addr().String()
}

func newApp(cfg ...fiber.Config) *fiber.App {
	c := fiber.Config{}
	if len(cfg) > 0 {
		c = cfg[0]
	}
	c.DisableStartupMessage = true
	return fiber.New(c)
}

// serve protects conformance.Path of a *fiber.App on a real listener.
func serve(t testing.TB, s conformance.Setup) string {
	var mw fiber.Handler
	if s.Verifier == nil {
		mw = fiberlwa.Require(s.Options...)
	} else {
		cfg := fiberlwa.Config{Policy: s.Policy}
		if s.Skip {
			cfg.Next = func(c *fiber.Ctx) bool { return c.Get(conformance.SkipHeader) != "" }
		}
		if s.OnError != nil {
			cfg.ErrorHandler = func(c *fiber.Ctx, err error) error {
				e, _ := err.(*core.Error)
				ans := s.OnError(e)
				rc := c.Context()
				if ans.Hijack {
					rc.HijackSetNoResponse(true)
					rc.Hijack(func(conn net.Conn) { _, _ = io.WriteString(conn, conformance.RawSuccess) })
					return nil
				}
				if ans.Flush {
					body := ans.Body
					rc.SetBodyStreamWriter(func(w *bufio.Writer) {
						_ = w.Flush()
						_, _ = w.WriteString(body)
						_ = w.Flush()
					})
					if ans.Status != 0 {
						c.Status(ans.Status)
					}
					return nil
				}
				if ans.Status == 0 {
					return nil
				}
				return c.Status(ans.Status).SendString(ans.Body)
			}
		}
		mw = fiberlwa.New(s.Verifier, cfg)
	}
	app := newApp()
	app.All(conformance.Path, mw, func(c *fiber.Ctx) error {
		g := conformance.Got{Request: c.UserContext()}
		g.Profile, g.ProfileOK = fiberlwa.Profile(c)
		g.Token, g.TokenOK = fiberlwa.Token(c)
		g.Info, g.InfoOK = fiberlwa.TokenInfo(c)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(s.Reply(g))
	})
	return listen(t, app)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{
		Name:    "fiberlwa",
		Serve:   serve,
		Require: func(opts ...core.Option) { fiberlwa.Require(opts...) },
	})
}

// client returns an HTTP client whose idle connections close with the test.
func client(t *testing.T, maxConns int) *http.Client {
	tr := &http.Transport{MaxConnsPerHost: maxConns, MaxIdleConnsPerHost: maxConns}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func get(t *testing.T, c *http.Client, u, token string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestLocalsAndUserContext: the handler finds the shared profile in
// c.Locals and in c.UserContext(), and Profile returns a copy.
func TestLocalsAndUserContext(t *testing.T) {
	f := conformance.NewFixture(t)
	app := newApp()
	app.Get("/x", fiberlwa.New(f.V), func(c *fiber.Ctx) error {
		// No require here: FailNow must not run on the server's goroutine.
		lctx, ok1 := c.Locals(core.ContextKey).(context.Context)
		sharedP, _ := core.FromContext(lctx)
		shared := &sharedP
		fromCtx, ok2 := core.FromContext(c.UserContext())
		p, ok3 := fiberlwa.Profile(c)
		if !assert.True(t, ok1 && ok2 && ok3, "locals %v, context %v, Profile %v", ok1, ok2, ok3) {
			return c.SendStatus(http.StatusInternalServerError)
		}
		assert.Equal(t, *shared, fromCtx)
		assert.Equal(t, *shared, p)
		p.Name = "changed"
		assert.Equal(t, "Alice", shared.Name, "Profile must return a copy")
		return c.SendString(fromCtx.Name)
	})
	u := listen(t, app) + "/x"
	status, body := get(t, client(t, 1), u, f.Tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "Alice", body)
}

// TestHandlers: Next skips, SuccessHandler runs instead of c.Next(), and
// ErrorHandler receives the *core.Error; returning it hands it to the app's
// own ErrorHandler.
func TestHandlers(t *testing.T) {
	f := conformance.NewFixture(t)
	var appSaw atomic.Pointer[core.Error]
	app := newApp(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		var e *core.Error
		if errors.As(err, &e) {
			appSaw.Store(e)
			return c.Status(e.Status).SendString("app: " + e.Code)
		}
		return fiber.DefaultErrorHandler(c, err)
	}})
	var successes, ran atomic.Int32
	app.Get("/x", fiberlwa.New(f.V, fiberlwa.Config{
		Next: func(c *fiber.Ctx) bool { return c.Query("skip") == "1" },
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			_, ok := err.(*core.Error)
			assert.True(t, ok, "ErrorHandler must receive a *core.Error, got %T", err)
			c.Set("X-Rejected", "yes")
			return err
		},
		SuccessHandler: func(c *fiber.Ctx) error {
			successes.Add(1)
			c.Set("X-Verified", "yes")
			return c.Next()
		},
	}), func(c *fiber.Ctx) error {
		ran.Add(1)
		p, _ := fiberlwa.Profile(c)
		return c.SendString("hello " + p.Name)
	})
	base := listen(t, app) + "/x"
	cl := client(t, 1)

	status, body := get(t, cl, base, f.Tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "hello Alice", body)
	assert.Equal(t, int32(1), successes.Load())

	status, body = get(t, cl, base, "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "app: invalid_request", body)
	require.NotNil(t, appSaw.Load())
	assert.ErrorIs(t, appSaw.Load(), core.ErrMissingToken)
	assert.Equal(t, int32(1), successes.Load())
	assert.Equal(t, int32(1), ran.Load())

	status, body = get(t, cl, base+"?skip=1", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "hello ", body, "skipped: no profile")
	assert.Equal(t, int32(1), successes.Load(), "Next skips SuccessHandler too")
	assert.Equal(t, 1, f.Srv.CallCount(lwatest.EndpointTokenInfo), "only the token was verified")
}

// TestNoBufferCrossTalk: fasthttp reuses a connection's request buffers for
// the next request. Profiles and contexts kept after their handler returned
// must still be the right ones after many more requests, with tokens of
// different lengths in every source, over few connections.
func TestNoBufferCrossTalk(t *testing.T) {
	f := conformance.NewFixture(t)
	type kept struct {
		want   string
		copied core.Profile
		shared *core.Profile
		ctx    core.Profile
	}
	var mu sync.Mutex
	var all []kept
	app := newApp()
	app.Get("/x", fiberlwa.New(f.V), func(c *fiber.Ctx) error {
		p, _ := fiberlwa.Profile(c)
		lctx, _ := c.Locals(core.ContextKey).(context.Context)
		sharedP, _ := core.FromContext(lctx)
		shared := &sharedP
		ctx, _ := core.FromContext(c.UserContext())
		mu.Lock()
		all = append(all, kept{want: strings.Clone(c.Query("who")), copied: p, shared: shared, ctx: ctx})
		mu.Unlock()
		return c.SendString(p.UserID)
	})
	base := listen(t, app) + "/x"

	const users, workers, rounds = 12, 6, 10
	toks := make([]string, users)
	for i := range users {
		toks[i] = f.Srv.Issue(conformance.ClientID, core.Profile{UserID: fmt.Sprintf("amzn1.account.U%02d", i), Name: fmt.Sprint("user ", i)},
			lwatest.WithToken(fmt.Sprintf("Atza|%02d-%s", i, strings.Repeat("z", 360+41*i))))
	}
	cl := client(t, 2) // 6 workers on 2 connections: every buffer is reused many times
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*users)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for k := range users {
					i := (k*7 + w + r) % users
					q := url.Values{"who": {fmt.Sprintf("amzn1.account.U%02d", i)}}
					req, _ := http.NewRequest(http.MethodGet, "", nil)
					switch (w + r + k) % 3 {
					case 0:
						req.Header.Set("Authorization", "Bearer "+toks[i])
					case 1:
						req.Header.Set("X-Amz-Access-Token", toks[i])
					default:
						q.Set("access_token", toks[i])
					}
					req.URL, _ = url.Parse(base + "?" + q.Encode())
					resp, err := cl.Do(req)
					if err != nil {
						errs <- err
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || string(b) != q.Get("who") {
						errs <- fmt.Errorf("got %d %q, want 200 %q", resp.StatusCode, b, q.Get("who"))
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	require.Len(t, all, workers*rounds*users)
	for _, k := range all {
		assert.Equal(t, k.want, k.copied.UserID)
		require.NotNil(t, k.shared)
		assert.Equal(t, k.want, k.shared.UserID)
		assert.Equal(t, k.want, k.ctx.UserID)
		assert.Equal(t, k.copied, *k.shared)
	}
	assert.Equal(t, users, f.Srv.CallCount(lwatest.EndpointTokenInfo), "one verification per token")
}

// TestAppTest: the middleware also works under app.Test, fiber's
// in-memory harness.
func TestAppTest(t *testing.T) {
	f := conformance.NewFixture(t)
	app := newApp()
	app.Get("/x", fiberlwa.New(f.V), func(c *fiber.Ctx) error {
		p, _ := fiberlwa.Profile(c)
		return c.JSON(p)
	})
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("x-amz-access-token", f.Tok)
	resp, err := app.Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	var p core.Profile
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	assert.Equal(t, f.Alice, p)
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "fiberlwa.New: want a non-nil *core.Verifier and at most one Config", func() { fiberlwa.New(nil) })
}

// TestDefaultErrorHandlerGetsTableStatus: a rejection a custom ErrorHandler
// hands on to fiber.DefaultErrorHandler is answered with the table's status,
// not 500.
func TestDefaultErrorHandlerGetsTableStatus(t *testing.T) {
	f := conformance.NewFixture(t)
	app := newApp() // fiber.DefaultErrorHandler
	app.Get("/x", fiberlwa.New(f.V, fiberlwa.Config{
		ErrorHandler: func(c *fiber.Ctx, err error) error { return err },
	}), func(c *fiber.Ctx) error { return c.SendString("secret") })
	base := listen(t, app) + "/x"
	cl := client(t, 1)
	status, body := get(t, cl, base, "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.NotContains(t, body, "secret")
	status, _ = get(t, cl, base, f.Revoked)
	assert.Equal(t, http.StatusBadRequest, status)
}
