package ginlwa_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/internal/conformance"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m, conformance.LeakOptions()...)
}

// serve protects conformance.Path of a gin.Engine.
func serve(t testing.TB, s conformance.Setup) string {
	var mw gin.HandlerFunc
	if s.Verifier == nil {
		mw = ginlwa.Require(s.Options...)
	} else {
		cfg := ginlwa.Config{Policy: s.Policy}
		if s.Skip {
			cfg.Skip = func(c *gin.Context) bool { return c.GetHeader(conformance.SkipHeader) != "" }
		}
		if s.OnError != nil {
			// Writes without aborting: the middleware aborts.
			cfg.ErrorHandler = func(c *gin.Context, e *core.Error) {
				ans := s.OnError(e)
				if ans.Flush {
					c.Writer.Flush()
				}
				if ans.Hijack {
					conformance.AnswerHTTP(c.Writer, ans)
					return
				}
				if ans.Status != 0 {
					c.Data(ans.Status, "text/plain", []byte(ans.Body))
				}
			}
		}
		mw = ginlwa.New(s.Verifier, cfg)
	}
	r := gin.New()
	r.Any(conformance.Path, mw, func(c *gin.Context) {
		g := conformance.Got{Request: c.Request.Context(), Framework: c}
		g.Profile, g.ProfileOK = ginlwa.Profile(c)
		g.Token, g.TokenOK = ginlwa.Token(c)
		g.Info, g.InfoOK = ginlwa.TokenInfo(c)
		c.Data(http.StatusOK, "application/json", s.Reply(g))
	})
	ts := httptest.NewServer(r)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{
		Name:             "ginlwa",
		FrameworkContext: true,
		Serve:            serve,
		Require:          func(opts ...core.Option) { ginlwa.Require(opts...) },
	})
}

// TestErrorsForLogging: a logging middleware in front sees the rejection's
// *core.Error in c.Errors.
func TestErrorsForLogging(t *testing.T) {
	f := conformance.NewFixture(t)
	var logged atomic.Pointer[core.Error]
	var aborted atomic.Bool
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		aborted.Store(c.IsAborted())
		if last := c.Errors.Last(); last != nil {
			var e *core.Error
			if errors.As(last.Err, &e) {
				logged.Store(e)
			}
		}
	})
	var ran atomic.Int32
	r.GET("/x", ginlwa.New(f.V), func(c *gin.Context) { ran.Add(1) })

	w := conformance.Do(r, "")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	e := logged.Load()
	require.NotNil(t, e, "c.Errors must hold the *core.Error")
	assert.Equal(t, core.CodeInvalidRequest, e.Code)
	assert.ErrorIs(t, e, core.ErrMissingToken)
	assert.True(t, aborted.Load())
	assert.Zero(t, ran.Load())

	logged.Store(nil)
	w = conformance.Do(r, f.Tok)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Nil(t, logged.Load(), "no error for an accepted request")
	assert.Equal(t, int32(1), ran.Load())
}

// TestErrorHandlerFailsClosed: an ErrorHandler that neither writes nor
// aborts still leaves the request rejected, with the default answer.
func TestErrorHandlerFailsClosed(t *testing.T) {
	f := conformance.NewFixture(t)
	var called atomic.Int32
	var ran atomic.Int32
	r := gin.New()
	r.GET("/x", ginlwa.New(f.V, ginlwa.Config{ErrorHandler: func(*gin.Context, *core.Error) { called.Add(1) }}),
		func(c *gin.Context) { ran.Add(1); c.String(http.StatusOK, "secret") })

	w := conformance.Do(r, "")
	assert.Equal(t, int32(1), called.Load())
	assert.Zero(t, ran.Load())
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Contains(t, w.Body.String(), `"error":"invalid_request"`)
	assert.NotContains(t, w.Body.String(), "secret")
}

// TestErrorHandlerAborts: an ErrorHandler that answers in gin's own way is
// used as it is.
func TestErrorHandlerAborts(t *testing.T) {
	f := conformance.NewFixture(t)
	r := gin.New()
	r.GET("/x", ginlwa.New(f.V, ginlwa.Config{ErrorHandler: func(c *gin.Context, e *core.Error) {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": "login required", "code": e.Code})
	}}), func(c *gin.Context) { c.String(http.StatusOK, "secret") })

	w := conformance.Do(r, "")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	body, _ := io.ReadAll(w.Body)
	assert.JSONEq(t, `{"message":"login required","code":"invalid_request"}`, string(body))
}

// TestGroup protects a route group and leaves the rest of the engine open;
// the profile is in the request's context for code below the handler.
func TestGroup(t *testing.T) {
	f := conformance.NewFixture(t)
	r := gin.New()
	r.GET("/open", func(c *gin.Context) { c.String(http.StatusOK, "open") })
	api := r.Group("/", ginlwa.New(f.V))
	api.GET("/x", func(c *gin.Context) {
		p, ok := core.FromContext(c.Request.Context())
		assert.True(t, ok)
		c.String(http.StatusOK, p.Name)
	})
	assert.Equal(t, "Alice", conformance.Do(r, f.Tok).Body.String())
	assert.Equal(t, http.StatusBadRequest, conformance.Do(r, "").Code)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/open", nil))
	assert.Equal(t, "open", w.Body.String())
}

func TestProfileWithoutMiddleware(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	_, ok := ginlwa.Profile(c)
	assert.False(t, ok)
	c.Set(core.ContextKey, "not a profile")
	_, ok = ginlwa.Profile(c)
	assert.False(t, ok)
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "ginlwa.New: want a non-nil *core.Verifier and at most one Config", func() { ginlwa.New(nil) })
}

// TestErrorHandlerCannotRunHandlers: a custom ErrorHandler that calls
// c.Next() runs nothing after the middleware, for a forged token too.
func TestErrorHandlerCannotRunHandlers(t *testing.T) {
	f := conformance.NewFixture(t)
	var ran atomic.Int32
	r := gin.New()
	r.GET("/x", ginlwa.New(f.V, ginlwa.Config{ErrorHandler: func(c *gin.Context, e *core.Error) {
		c.Next() // a careless handler
	}}), func(c *gin.Context) {
		ran.Add(1)
		c.String(http.StatusOK, "secret")
	})
	for _, tok := range []string{"", "Atza|forged-token", f.Revoked} {
		w := conformance.Do(r, tok)
		assert.NotEqual(t, http.StatusOK, w.Code)
		assert.NotContains(t, w.Body.String(), "secret")
	}
	assert.Zero(t, ran.Load(), "the protected handler ran")
}
