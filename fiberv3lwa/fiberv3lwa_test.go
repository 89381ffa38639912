package fiberv3lwa_test

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

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/fiberv3lwa"
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
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		assert.NoError(t, app.ShutdownWithTimeout(10*time.Second))
		assert.NoError(t, <-done)
	})
	return "http://" + ln.Addr().String()
}

// serve protects conformance.Path of a *fiber.App on a real listener.
func serve(t testing.TB, s conformance.Setup) string {
	var mw fiber.Handler
	if s.Verifier == nil {
		mw = fiberv3lwa.Require(s.Options...)
	} else {
		cfg := fiberv3lwa.Config{Policy: s.Policy}
		if s.Skip {
			cfg.Next = func(c fiber.Ctx) bool { return c.Get(conformance.SkipHeader) != "" }
		}
		if s.OnError != nil {
			cfg.ErrorHandler = func(c fiber.Ctx, err error) error {
				e, _ := err.(*core.Error)
				ans := s.OnError(e)
				rc := c.RequestCtx()
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
		mw = fiberv3lwa.New(s.Verifier, cfg)
	}
	app := fiber.New()
	app.All(conformance.Path, mw, func(c fiber.Ctx) error {
		g := conformance.Got{Request: c.Context(), Framework: c}
		g.Profile, g.ProfileOK = fiberv3lwa.Profile(c)
		g.Token, g.TokenOK = fiberv3lwa.Token(c)
		g.Info, g.InfoOK = fiberv3lwa.TokenInfo(c)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(s.Reply(g))
	})
	return listen(t, app)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{
		Name:             "fiberv3lwa",
		FrameworkContext: true,
		Serve:            serve,
		Require:          func(opts ...core.Option) { fiberv3lwa.Require(opts...) },
	})
}

// do serves one in-memory request through app: GET /x with token (if any)
// as a Bearer token.
func do(t *testing.T, app *fiber.App, token string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := app.Test(req, fiber.TestConfig{Timeout: 0})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestLocalsAndContext: the handler finds the shared profile in c.Locals
// and in c.Context(), and Profile returns a copy.
func TestLocalsAndContext(t *testing.T) {
	f := conformance.NewFixture(t)
	app := fiber.New()
	app.Get("/x", fiberv3lwa.New(f.V), func(c fiber.Ctx) error {
		lctx, ok1 := c.Locals(core.ContextKey).(context.Context)
		sharedP, _ := core.FromContext(lctx)
		shared := &sharedP
		fromCtx, ok2 := core.FromContext(c.Context())
		p, ok3 := fiberv3lwa.Profile(c)
		if !assert.True(t, ok1 && ok2 && ok3, "locals %v, context %v, Profile %v", ok1, ok2, ok3) {
			return c.SendStatus(http.StatusInternalServerError)
		}
		assert.Equal(t, *shared, fromCtx)
		assert.Equal(t, *shared, p)
		p.Name = "changed"
		assert.Equal(t, "Alice", shared.Name, "Profile must return a copy")
		return c.SendString(fromCtx.Name)
	})
	resp, body := do(t, app, f.Tok)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Alice", body)
}

// TestFromContextOnCtx shows whether core.FromContext works on the fiber.Ctx
// itself (a v3 fiber.Ctx is a context.Context whose Value reads c.Locals).
// It needs the profile in c.Locals under core's own context key, which core
// does not export yet: until it does, the test is skipped and says so.
func TestFromContextOnCtx(t *testing.T) {
	f := conformance.NewFixture(t)
	var ok atomic.Bool
	app := fiber.New()
	app.Get("/x", fiberv3lwa.New(f.V), func(c fiber.Ctx) error {
		p, found := core.FromContext(c)
		ok.Store(found && p == f.Alice)
		return nil
	})
	resp, _ := do(t, app, f.Tok)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, ok.Load(), "core.FromContext(c) on a fiber.Ctx finds the profile")
}

// TestErrorHandler: the custom handler's error matches *core.Error and
// *fiber.Error; handing it on reaches the app's ErrorHandler, and
// fiber.DefaultErrorHandler answers with the table's status.
func TestErrorHandler(t *testing.T) {
	f := conformance.NewFixture(t)
	var appSaw atomic.Pointer[core.Error]
	custom := fiber.New(fiber.Config{ErrorHandler: func(c fiber.Ctx, err error) error {
		var e *core.Error
		if errors.As(err, &e) {
			appSaw.Store(e)
			return c.Status(e.Status).SendString("app: " + e.Code)
		}
		return fiber.DefaultErrorHandler(c, err)
	}})
	var handlerSaw atomic.Value
	for _, app := range []*fiber.App{custom, fiber.New()} {
		app.Get("/x", fiberv3lwa.New(f.V, fiberv3lwa.Config{ErrorHandler: func(c fiber.Ctx, err error) error {
			handlerSaw.Store(err)
			c.Set("X-Rejected", "yes")
			return err
		}}), func(c fiber.Ctx) error { return c.SendString("secret") })
	}

	resp, body := do(t, custom, "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "app: invalid_request", body)
	assert.Equal(t, "yes", resp.Header.Get("X-Rejected"))
	require.NotNil(t, appSaw.Load())
	assert.ErrorIs(t, appSaw.Load(), core.ErrMissingToken)

	// The handler gets the *core.Error itself, as fiberlwa's does.
	err, _ := handlerSaw.Load().(error)
	require.Error(t, err)
	ce, ok := err.(*core.Error)
	require.True(t, ok, "the handler's error is a *core.Error: %T", err)
	assert.Same(t, appSaw.Load(), ce)
	b, jerr := json.Marshal(err)
	require.NoError(t, jerr)
	assert.Equal(t, string(ce.Body()), string(b), "the error marshals to the table's body")

	resp, body = do(t, fiber.New(), "") // no route: sanity of the helper
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, body)

	def := fiber.New()
	def.Get("/x", fiberv3lwa.New(f.V, fiberv3lwa.Config{ErrorHandler: func(_ fiber.Ctx, err error) error { return err }}),
		func(c fiber.Ctx) error { return c.SendString("secret") })
	resp, body = do(t, def, f.Revoked)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "fiber.DefaultErrorHandler answers with the table's status")
	assert.True(t, strings.HasPrefix(body, "lwa: 400 invalid_token"), body)
	assert.NotContains(t, body, f.Revoked)
}

// TestErrorHandlerCannotLetThrough: whatever a custom ErrorHandler does
// short of calling c.Next(), the answer is not a 2xx and the protected
// handler does not run.
func TestErrorHandlerCannotLetThrough(t *testing.T) {
	f := conformance.NewFixture(t)
	missing := &core.Error{Status: 400, Code: core.CodeInvalidRequest, Description: "the request carries no access token"}
	for _, c := range []struct {
		name    string
		handler fiber.ErrorHandler
		status  int
		body    string // "" for core's body
	}{
		{"nil, nothing written", func(fiber.Ctx, error) error { return nil }, 400, ""},
		{"header only", func(c fiber.Ctx, _ error) error { c.Set("X-Seen", "1"); return nil }, 400, ""},
		{"204", func(c fiber.Ctx, _ error) error { return c.SendStatus(http.StatusNoContent) }, 400, ""},
		{"200 with a body", func(c fiber.Ctx, _ error) error { return c.SendString("welcome") }, 400, "welcome"},
		{"403", func(c fiber.Ctx, _ error) error { return c.Status(http.StatusForbidden).SendString("no") }, 403, "no"},
		{"the *core.Error", func(_ fiber.Ctx, err error) error {
			var e *core.Error
			errors.As(err, &e)
			return e
		}, 400, "lwa: 400 invalid_request: the request carries no access token"},
		{"wrapped", func(_ fiber.Ctx, err error) error { return fmt.Errorf("logged: %w", err) },
			400, "logged: lwa: 400 invalid_request: the request carries no access token"},
		{"own error", func(fiber.Ctx, error) error { return fiber.ErrForbidden }, 403, "Forbidden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ran atomic.Int32
			app := fiber.New()
			app.Get("/x", fiberv3lwa.New(f.V, fiberv3lwa.Config{ErrorHandler: c.handler}), func(c fiber.Ctx) error {
				ran.Add(1)
				return c.SendString("secret")
			})
			resp, body := do(t, app, "")
			assert.Zero(t, ran.Load())
			assert.Equal(t, c.status, resp.StatusCode)
			if c.body == "" {
				assert.Equal(t, string(missing.Body()), body)
				assert.Equal(t, missing.WWWAuthenticate(), resp.Header.Get("WWW-Authenticate"))
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			} else {
				assert.Equal(t, c.body, body)
			}
		})
	}
}

// TestNextAndSuccessHandler: Next skips everything, SuccessHandler runs
// instead of c.Next() for a request that may go on, and a preflight is
// answered before either handler.
func TestNextAndSuccessHandler(t *testing.T) {
	f := conformance.NewFixture(t)
	var successes, errs, ran atomic.Int32
	app := fiber.New()
	app.All("/x", fiberv3lwa.New(f.V, fiberv3lwa.Config{
		Next:         func(c fiber.Ctx) bool { return c.Query("skip") == "1" },
		ErrorHandler: func(fiber.Ctx, error) error { errs.Add(1); return nil },
		SuccessHandler: func(c fiber.Ctx) error {
			successes.Add(1)
			c.Set("X-Verified", "yes")
			return c.Next()
		},
	}), func(c fiber.Ctx) error {
		ran.Add(1)
		p, _ := fiberv3lwa.Profile(c)
		return c.SendString("hello " + p.Name)
	})

	resp, body := do(t, app, f.Tok)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello Alice", body)
	assert.Equal(t, "yes", resp.Header.Get("X-Verified"))

	req := httptest.NewRequest(http.MethodGet, "/x?skip=1", nil)
	req.Header.Set("Authorization", "Bearer")
	r, err := app.Test(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	assert.Equal(t, "hello ", string(b), "skipped: no profile, not even read")
	assert.Equal(t, int32(1), successes.Load(), "Next skips SuccessHandler too")

	req = httptest.NewRequest(http.MethodOptions, "/x", nil)
	req.Header.Set("Access-Control-Request-Method", "GET")
	r, err = app.Test(req)
	require.NoError(t, err)
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	assert.Equal(t, http.StatusNoContent, r.StatusCode)
	assert.Empty(t, b)
	assert.Zero(t, errs.Load(), "a preflight is not a rejection")
	assert.Equal(t, int32(1), successes.Load())
	assert.Equal(t, int32(2), ran.Load())
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
	app := fiber.New()
	app.Get("/x", fiberv3lwa.New(f.V), func(c fiber.Ctx) error {
		p, _ := fiberv3lwa.Profile(c)
		lctx, _ := c.Locals(core.ContextKey).(context.Context)
		sharedP, _ := core.FromContext(lctx)
		shared := &sharedP
		ctx, _ := core.FromContext(c.Context())
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
	tr := &http.Transport{MaxConnsPerHost: 2, MaxIdleConnsPerHost: 2} // 6 workers on 2 connections
	t.Cleanup(tr.CloseIdleConnections)
	cl := &http.Client{Transport: tr, Timeout: 30 * time.Second}
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
	}
	assert.Equal(t, users, f.Srv.CallCount(lwatest.EndpointTokenInfo), "one verification per token")
}

func TestProfileWithoutMiddleware(t *testing.T) {
	app := fiber.New()
	app.Get("/x", func(c fiber.Ctx) error {
		_, ok1 := fiberv3lwa.Profile(c)
		c.Locals(core.ContextKey, "not a profile")
		_, ok2 := fiberv3lwa.Profile(c)
		return c.SendString(fmt.Sprint(ok1, ok2))
	})
	_, body := do(t, app, "")
	assert.Equal(t, "false false", body)
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "fiberv3lwa.New: want a non-nil *core.Verifier and at most one Config", func() { fiberv3lwa.New(nil) })
}
