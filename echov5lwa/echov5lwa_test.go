package echov5lwa_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/internal/conformance"
	"github.com/go-lwa/lwa/lwatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, conformance.LeakOptions()...)
}

// serve protects conformance.Path of an *echo.Echo with its default
// HTTPErrorHandler.
func serve(t testing.TB, s conformance.Setup) string {
	var mw echo.MiddlewareFunc
	if s.Verifier == nil {
		mw = echov5lwa.Require(s.Options...)
	} else {
		cfg := echov5lwa.Config{Policy: s.Policy}
		if s.Skip {
			cfg.Skipper = func(c *echo.Context) bool { return c.Request().Header.Get(conformance.SkipHeader) != "" }
		}
		if s.OnError != nil {
			cfg.ErrorHandler = func(c *echo.Context, e *core.Error) error {
				ans := s.OnError(e)
				if ans.Flush {
					if resp, err := echo.UnwrapResponse(c.Response()); err == nil {
						resp.Flush()
					}
				}
				if ans.Hijack {
					conformance.AnswerHTTP(c.Response(), ans)
					return nil
				}
				if ans.Status == 0 {
					return nil
				}
				return c.String(ans.Status, ans.Body)
			}
		}
		mw = echov5lwa.New(s.Verifier, cfg)
	}
	e := echo.New()
	e.Any(conformance.Path, func(c *echo.Context) error {
		g := conformance.Got{Request: c.Request().Context()}
		g.Profile, g.ProfileOK = echov5lwa.Profile(c)
		g.Token, g.TokenOK = echov5lwa.Token(c)
		g.Info, g.InfoOK = echov5lwa.TokenInfo(c)
		return c.JSONBlob(http.StatusOK, s.Reply(g))
	}, mw)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{
		Name:            "echov5lwa",
		Serve:           serve,
		Require:         func(opts ...core.Option) { echov5lwa.Require(opts...) },
		TrailingNewline: true, // Echo's DefaultHTTPErrorHandler encodes with json.Encoder
	})
}

// newEcho returns an Echo whose one route, GET /x, is protected by mw and
// counts its calls in ran.
func newEcho(mw echo.MiddlewareFunc, ran *atomic.Int32) *echo.Echo {
	e := echo.New()
	e.GET("/x", func(c *echo.Context) error {
		ran.Add(1)
		return c.String(http.StatusOK, "secret")
	}, mw)
	return e
}

// TestDefaultHTTPErrorHandler: Echo v5's own handler writes the table's
// status and core's body, with the table's headers.
func TestDefaultHTTPErrorHandler(t *testing.T) {
	f := conformance.NewFixture(t)
	var ran atomic.Int32
	e := newEcho(echov5lwa.New(f.V), &ran)

	w := conformance.Do(e, f.Revoked)
	calls := f.Srv.Calls(lwatest.EndpointTokenInfo)
	require.Len(t, calls, 1)
	var body struct {
		Description string `json:"error_description"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	want := &core.Error{Status: 400, Code: core.CodeInvalidToken, Description: body.Description, RequestID: calls[0].RequestID}
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, string(want.Body())+"\n", w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, want.WWWAuthenticate(), w.Header().Get("WWW-Authenticate"))

	w = conformance.Do(e, f.Tok)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "secret", w.Body.String())
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))
	assert.Empty(t, w.Header().Get("Cache-Control"))
	assert.Equal(t, int32(1), ran.Load())
}

// TestHTTPErrorHandlerSeesCoreError: a custom HTTPErrorHandler gets the
// *core.Error with errors.As and echo.StatusCode gives its status. The
// middleware set the challenge and no-store before it ran (never a
// Content-Type: the handler chooses its own), and the handler may override
// them.
func TestHTTPErrorHandlerSeesCoreError(t *testing.T) {
	f := conformance.NewFixture(t)
	var seen atomic.Pointer[core.Error]
	var cacheBefore atomic.Value
	e := echo.New()
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		var ce *core.Error
		if !errors.As(err, &ce) {
			_ = c.String(http.StatusInternalServerError, "not a *core.Error")
			return
		}
		assert.Equal(t, ce.Status, echo.StatusCode(err))
		cacheBefore.Store(c.Response().Header().Get("Cache-Control") + "|" + c.Response().Header().Get("Content-Type"))
		seen.Store(ce)
		if c.Request().URL.Query().Get("own") != "" {
			c.Response().Header().Set("Cache-Control", "private")
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="mine"`)
		}
		_ = c.HTML(ce.Status, "<p>"+ce.Code+"</p>")
	}
	var ran atomic.Int32
	e.GET("/x", func(c *echo.Context) error { ran.Add(1); return nil }, echov5lwa.New(f.V))

	w := conformance.Do(e, f.Revoked)
	ce := seen.Load()
	require.NotNil(t, ce)
	assert.ErrorIs(t, ce, core.ErrInvalidToken)
	assert.Equal(t, "no-store|", cacheBefore.Load(), "no-store set before the HTTPErrorHandler, no Content-Type")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "<p>invalid_token</p>", w.Body.String())
	assert.Equal(t, echo.MIMETextHTMLCharsetUTF8, w.Header().Get("Content-Type"))
	assert.Equal(t, ce.WWWAuthenticate(), w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	req := httptest.NewRequest(http.MethodGet, "/x?own=1", nil)
	req.Header.Set("Authorization", "Bearer "+f.Revoked)
	w = httptest.NewRecorder()
	e.ServeHTTP(w, req)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, `Bearer realm="mine"`, w.Header().Get("WWW-Authenticate"), "the handler's own header is kept")
	assert.Equal(t, "private", w.Header().Get("Cache-Control"))
	assert.Zero(t, ran.Load())
}

// TestHTTPErrorHandlerOtherStatus: a redirect is the handler's choice (the
// rejection's headers stay unless it removes them); a 2xx never goes out.
func TestHTTPErrorHandlerOtherStatus(t *testing.T) {
	f := conformance.NewFixture(t)
	e := echo.New()
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		if c.Request().URL.Query().Get("ok") != "" {
			_ = c.String(http.StatusOK, "fine")
			return
		}
		_ = c.Redirect(http.StatusFound, "/login")
	}
	var ran atomic.Int32
	e.GET("/x", func(c *echo.Context) error { ran.Add(1); return nil }, echov5lwa.New(f.V))

	w := conformance.Do(e, "")
	assert.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "/login", w.Header().Get("Location"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x?ok=1", nil))
	assert.Equal(t, http.StatusBadRequest, w.Code, "a 2xx answer to a rejection becomes the rejection's status")
	assert.Equal(t, "fine", w.Body.String())
	assert.NotEmpty(t, w.Header().Get("WWW-Authenticate"))
	assert.Zero(t, ran.Load())
}

// TestErrorHandlerCannotLetThrough: a custom ErrorHandler that writes
// nothing and returns nil gets the default answer; one that writes a 2xx
// has its status replaced; one that returns an error hands that error to
// the HTTPErrorHandler. The protected handler never runs.
func TestErrorHandlerCannotLetThrough(t *testing.T) {
	f := conformance.NewFixture(t)
	for _, c := range []struct {
		name       string
		handler    func(c *echo.Context, e *core.Error) error
		status     int
		body       string // "" for core's body
		challenged bool
	}{
		{"nil, nothing written", func(*echo.Context, *core.Error) error { return nil }, 400, "", true},
		{"header only", func(c *echo.Context, _ *core.Error) error {
			c.Response().Header().Set("X-Seen", "1")
			return nil
		}, 400, "", true},
		{"200", func(c *echo.Context, _ *core.Error) error { return c.String(http.StatusOK, "welcome") }, 400, "welcome", true},
		{"204", func(c *echo.Context, _ *core.Error) error { return c.NoContent(http.StatusNoContent) }, 400, "-", true},
		{"JSON 200", func(c *echo.Context, _ *core.Error) error { return c.JSON(http.StatusOK, "welcome") }, 400, "\"welcome\"\n", true},
		{"403", func(c *echo.Context, _ *core.Error) error { return c.String(http.StatusForbidden, "no") }, 403, "no", true},
		{"403 without the challenge", func(c *echo.Context, _ *core.Error) error {
			c.Response().Header().Del("WWW-Authenticate")
			return c.String(http.StatusForbidden, "no")
		}, 403, "no", false},
		{"own error", func(*echo.Context, *core.Error) error { return echo.ErrForbidden }, 403, `{"message":"Forbidden"}` + "\n", true},
		{"the rejection", func(_ *echo.Context, e *core.Error) error { return e }, 400, "", true},
		{"the rejection wrapped", func(_ *echo.Context, e *core.Error) error { return fmt.Errorf("logged: %w", e) }, 400, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ran atomic.Int32
			e := newEcho(echov5lwa.New(f.V, echov5lwa.Config{ErrorHandler: c.handler}), &ran)
			w := conformance.Do(e, "")
			assert.Zero(t, ran.Load())
			assert.Equal(t, c.status, w.Code)
			missing := &core.Error{Status: 400, Code: core.CodeInvalidRequest, Description: "the request carries no access token"}
			switch c.body {
			case "":
				assert.Equal(t, string(missing.Body())+"\n", w.Body.String())
			case "-":
				assert.Empty(t, w.Body.String())
			default:
				assert.Equal(t, c.body, w.Body.String())
			}
			assert.Equal(t, "no-store", w.Header().Get("Cache-Control"), "set before the handler ran")
			if c.challenged {
				assert.Equal(t, missing.WWWAuthenticate(), w.Header().Get("WWW-Authenticate"))
			} else {
				assert.Empty(t, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestPreflightAnswered: the middleware answers a preflight itself, before
// any error handler.
func TestPreflightAnswered(t *testing.T) {
	f := conformance.NewFixture(t)
	var handled, ran atomic.Int32
	e := newEcho(echov5lwa.New(f.V, echov5lwa.Config{ErrorHandler: func(*echo.Context, *core.Error) error {
		handled.Add(1)
		return nil
	}}), &ran)
	e.HTTPErrorHandler = func(c *echo.Context, err error) { handled.Add(1) }
	e.OPTIONS("/x", func(c *echo.Context) error { ran.Add(1); return nil }, echov5lwa.New(f.V))
	req := httptest.NewRequest(http.MethodOptions, "/x", nil)
	req.Header.Set("Access-Control-Request-Method", "GET")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Empty(t, w.Body.String())
	assert.Empty(t, w.Header())
	assert.Zero(t, handled.Load())
	assert.Zero(t, ran.Load())
}

// TestGroupAndContext protects an echo.Group; the profile is in the
// request's context for code below the handler.
func TestGroupAndContext(t *testing.T) {
	f := conformance.NewFixture(t)
	e := echo.New()
	e.GET("/open", func(c *echo.Context) error { return c.String(http.StatusOK, "open") })
	g := e.Group("", echov5lwa.New(f.V))
	g.GET("/x", func(c *echo.Context) error {
		p, ok := core.FromContext(c.Request().Context())
		assert.True(t, ok)
		q, ok := echov5lwa.Profile(c)
		assert.True(t, ok)
		assert.Equal(t, p, q)
		return c.String(http.StatusOK, p.Name)
	})
	assert.Equal(t, "Alice", conformance.Do(e, f.Tok).Body.String())
	assert.Equal(t, http.StatusBadRequest, conformance.Do(e, "").Code)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/open", nil))
	assert.Equal(t, "open", w.Body.String())
}

func TestProfileWithoutMiddleware(t *testing.T) {
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	_, ok := echov5lwa.Profile(c)
	assert.False(t, ok)
	c.Set(core.ContextKey, "not a profile")
	_, ok = echov5lwa.Profile(c)
	assert.False(t, ok)
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "echov5lwa.New: want a non-nil *core.Verifier and at most one Config", func() { echov5lwa.New(nil) })
}
