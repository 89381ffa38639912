package echolwa_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
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
		mw = echolwa.Require(s.Options...)
	} else {
		cfg := echolwa.Config{Policy: s.Policy}
		if s.Skip {
			cfg.Skipper = func(c echo.Context) bool { return c.Request().Header.Get(conformance.SkipHeader) != "" }
		}
		if s.OnError != nil {
			cfg.ErrorHandler = func(c echo.Context, e *core.Error) error {
				ans := s.OnError(e)
				if ans.Flush {
					c.Response().Flush()
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
		mw = echolwa.New(s.Verifier, cfg)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Any(conformance.Path, func(c echo.Context) error {
		g := conformance.Got{Request: c.Request().Context()}
		g.Profile, g.ProfileOK = echolwa.Profile(c)
		g.Token, g.TokenOK = echolwa.Token(c)
		g.Info, g.InfoOK = echolwa.TokenInfo(c)
		return c.JSONBlob(http.StatusOK, s.Reply(g))
	}, mw)
	ts := httptest.NewServer(e)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{
		Name:            "echolwa",
		Serve:           serve,
		Require:         func(opts ...core.Option) { echolwa.Require(opts...) },
		TrailingNewline: true, // Echo's DefaultHTTPErrorHandler encodes with json.Encoder
	})
}

// TestHTTPErrorHandlerSeesCoreError: a custom HTTPErrorHandler gets at the
// *core.Error through the *echo.HTTPError's Internal, or errors.As on the
// error itself.
func TestHTTPErrorHandlerSeesCoreError(t *testing.T) {
	f := conformance.NewFixture(t)
	var seen atomic.Pointer[core.Error]
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if !errors.As(err, &he) {
			_ = c.String(http.StatusInternalServerError, "not an HTTPError")
			return
		}
		var ce *core.Error
		if !errors.As(he.Internal, &ce) {
			_ = c.String(http.StatusInternalServerError, "Internal is not a *core.Error")
			return
		}
		var direct *core.Error
		assert.True(t, errors.As(err, &direct))
		assert.Same(t, ce, direct)
		assert.Equal(t, ce.Status, he.Code)
		seen.Store(ce)
		_ = c.JSON(ce.Status, map[string]string{"problem": ce.Code, "amazon": ce.RequestID})
	}
	var ran atomic.Int32
	e.GET("/x", func(c echo.Context) error { ran.Add(1); return c.String(http.StatusOK, "secret") }, echolwa.New(f.V))

	w := conformance.Do(e, f.Revoked)
	ce := seen.Load()
	require.NotNil(t, ce)
	assert.ErrorIs(t, ce, core.ErrInvalidToken)
	calls := f.Srv.Calls(lwatest.EndpointTokenInfo)
	require.Len(t, calls, 1)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.JSONEq(t, `{"problem":"invalid_token","amazon":"`+calls[0].RequestID+`"}`, w.Body.String())
	assert.Equal(t, ce.WWWAuthenticate(), w.Header().Get("WWW-Authenticate"), "headers are set before the error is returned")
	assert.Zero(t, ran.Load())
}

// TestDefaultHTTPErrorHandler: Echo's own handler writes core's body, with
// the headers of the error table.
func TestDefaultHTTPErrorHandler(t *testing.T) {
	f := conformance.NewFixture(t)
	e := echo.New()
	e.GET("/x", func(c echo.Context) error { return c.String(http.StatusOK, "secret") }, echolwa.New(f.V))
	calls := func() []lwatest.Call { return f.Srv.Calls(lwatest.EndpointTokenInfo) }

	w := conformance.Do(e, f.Revoked)
	require.Len(t, calls(), 1)
	want := &core.Error{Status: 400, Code: core.CodeInvalidToken, RequestID: calls()[0].RequestID}
	var body struct {
		Description string `json:"error_description"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
	want.Description = body.Description
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, string(want.Body())+"\n", w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, want.WWWAuthenticate(), w.Header().Get("WWW-Authenticate"))
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `Bearer error="invalid_token"`)

	w = conformance.Do(e, f.Tok)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "secret", w.Body.String())
}

// TestGroupAndContext protects an echo.Group; the profile is in the
// request's context for code below the handler.
func TestGroupAndContext(t *testing.T) {
	f := conformance.NewFixture(t)
	e := echo.New()
	e.GET("/open", func(c echo.Context) error { return c.String(http.StatusOK, "open") })
	g := e.Group("", echolwa.New(f.V))
	g.GET("/x", func(c echo.Context) error {
		p, ok := core.FromContext(c.Request().Context())
		assert.True(t, ok)
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
	_, ok := echolwa.Profile(c)
	assert.False(t, ok)
	c.Set(core.ContextKey, "not a profile")
	_, ok = echolwa.Profile(c)
	assert.False(t, ok)
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "echolwa.New: want a non-nil *core.Verifier and at most one Config", func() { echolwa.New(nil) })
}

// TestHTTPErrorHandlerRendersHTML: the middleware sets no header before the
// app's HTTPErrorHandler renders the rejection, so it can answer in HTML;
// the challenge header is still added when the rejection's status is written.
func TestHTTPErrorHandlerRendersHTML(t *testing.T) {
	f := conformance.NewFixture(t)
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var ce *core.Error
		require.ErrorAs(t, err, &ce)
		assert.Empty(t, c.Response().Header().Get("Content-Type"), "no header set before the app renders")
		_ = c.HTML(ce.Status, "<h1>"+ce.Code+"</h1>")
	}
	e.GET("/x", func(c echo.Context) error { return c.String(http.StatusOK, "secret") }, echolwa.New(f.V))
	w := conformance.Do(e, "")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, echo.MIMETextHTMLCharsetUTF8, w.Header().Get("Content-Type"))
	assert.Equal(t, "<h1>invalid_request</h1>", w.Body.String())
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_request"`)
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
}
