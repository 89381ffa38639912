package stdlwa_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/conformance"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, conformance.LeakOptions()...)
}

// serve protects conformance.Path on a plain http.ServeMux.
func serve(t testing.TB, s conformance.Setup) string {
	var mw func(http.Handler) http.Handler
	if s.Verifier == nil {
		mw = stdlwa.Require(s.Options...)
	} else {
		cfg := stdlwa.Config{Policy: s.Policy}
		if s.Skip {
			cfg.Skip = func(r *http.Request) bool { return r.Header.Get(conformance.SkipHeader) != "" }
		}
		if s.OnError != nil {
			cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, e *core.Error) {
				conformance.AnswerHTTP(w, s.OnError(e))
			}
		}
		mw = stdlwa.New(s.Verifier, cfg)
	}
	mux := http.NewServeMux()
	mux.Handle(conformance.Path, mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := conformance.Got{Request: r.Context()}
		g.Profile, g.ProfileOK = stdlwa.Profile(r)
		g.Token, g.TokenOK = stdlwa.Token(r)
		g.Info, g.InfoOK = stdlwa.TokenInfo(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.Reply(g))
	})))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Adapter{
		Name:    "stdlwa",
		Serve:   serve,
		Require: func(opts ...core.Option) { stdlwa.Require(opts...) },
	})
}

// TestServeMux protects one route of a mux with mux.Handle("/x",
// stdlwa.New(v)(h)) and leaves the others open.
func TestServeMux(t *testing.T) {
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	v, err := core.NewVerifier(core.WithClientID(conformance.ClientID), core.WithEndpoint(srv.URL))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	alice := core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice"}
	tok := srv.Issue(conformance.ClientID, alice)

	mux := http.NewServeMux()
	mux.Handle("/x", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := stdlwa.Profile(r)
		assert.True(t, ok)
		fp, ok := core.FromContext(r.Context())
		assert.True(t, ok)
		assert.Equal(t, p, fp)
		_, _ = io.WriteString(w, "hello "+p.Name)
	})))
	mux.HandleFunc("/open", func(w http.ResponseWriter, r *http.Request) {
		_, ok := stdlwa.Profile(r)
		assert.False(t, ok)
		_, _ = io.WriteString(w, "open")
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	client := ts.Client()

	get := func(path, token string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	status, body := get("/x", tok)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "hello Alice", body)
	status, _ = get("/x", "")
	assert.Equal(t, http.StatusBadRequest, status)
	status, body = get("/open", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "open", body)
}

func TestNewPanics(t *testing.T) {
	assert.PanicsWithValue(t, "stdlwa.New: want a non-nil *core.Verifier and at most one Config", func() { stdlwa.New(nil) })
}

// TestProfileWithoutMiddleware: a request the middleware never saw has no
// profile.
func TestProfileWithoutMiddleware(t *testing.T) {
	_, ok := stdlwa.Profile(httptest.NewRequest(http.MethodGet, "/", nil))
	assert.False(t, ok)
}
