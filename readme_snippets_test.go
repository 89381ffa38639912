package lwa_test

// The Go snippets of README.md, so that they compile with the module. Every
// Go block of README.md names, in a comment just above it, the file and the
// function it is taken from (internal/snippets); TestREADMESnippets checks
// that each is there, line for line. The quick starts, imports included,
// are the files readme_<framework>_test.go; the blocks of the sections on
// devices, regions and metrics are compiled in their own packages.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	echov5 "github.com/labstack/echo/v5"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/internal/snippets"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/otellwa"
	"github.com/go-lwa/lwa/redislwa"
	"github.com/go-lwa/lwa/stdlwa"
)

func readmePitch(r *gin.Engine) {
	r.Use(ginlwa.Require()) // client ID from LWA_CLIENT_ID
}

func readmeCredentials(r *gin.Engine) {
	r.GET("/me/token", func(c *gin.Context) {
		info, _ := ginlwa.TokenInfo(c) // the client ID and app it was issued to, issued and expiring when
		c.JSON(http.StatusOK, gin.H{"client_id": info.ClientID, "app_id": info.AppID, "expires_at": info.ExpiresAt})
	})
}

// customerID is the README's code that only takes a context.Context.
func customerID(ctx context.Context) (string, bool) {
	p, ok := core.FromContext(ctx) // a request's context, a *gin.Context or a Fiber v3 Ctx
	return p.UserID, ok
}

func readmeOneVerifier(webID, tvID string, r *gin.Engine, e *echov5.Echo, mux *http.ServeMux, me gin.HandlerFunc, meV5 echov5.HandlerFunc, legacyMe http.Handler) {
	v, err := core.NewVerifier(core.WithClientID(webID, tvID))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	api := r.Group("/api", ginlwa.New(v)) // Gin
	api.GET("/me", me)
	e.GET("/v2/me", meV5, echov5lwa.New(v))               // Echo v5, same cache: a token verified by one is known to the other
	mux.Handle("GET /legacy/me", stdlwa.New(v)(legacyMe)) // net/http, same cache
}

func readmePerRoute(tvClientID string, r *gin.Engine, hello, ship, queue gin.HandlerFunc) {
	v, err := core.NewVerifier() // LWA_CLIENT_ID: the web and the TV client IDs, comma-separated
	if err != nil {
		log.Fatal(err)
	}
	r.GET("/hello", ginlwa.Optional(v), hello)                           // no token: no profile; a bad token: rejected
	r.GET("/shipping", ginlwa.NeedFields(v, core.FieldPostalCode), ship) // the customer shared the postal code
	r.GET("/tv/queue", ginlwa.OnlyClients(v, tvClientID), queue)         // tokens of the TV's client ID only
}

func readmeConfig(v *core.Verifier, r *gin.Engine, account, health, offers gin.HandlerFunc) {
	// Health checks skip verification; rejections become an HTML page.
	pages := r.Group("/", ginlwa.New(v, ginlwa.Config{
		Skip: func(c *gin.Context) bool { return c.FullPath() == "/healthz" },
		ErrorHandler: func(c *gin.Context, e *core.Error) {
			c.Data(e.StatusCode(), "text/html; charset=utf-8", []byte("<p>Please sign in again.</p>"))
		},
	}))
	pages.GET("/account", account)
	pages.GET("/healthz", health)

	// Optional, but a customer who signs in must share the postal code.
	r.GET("/offers", ginlwa.New(v, ginlwa.Config{Policy: core.Policy{
		Optional:       true,
		RequiredFields: []string{core.FieldPostalCode},
	}}), offers)
}

func readmeSources() (*core.Verifier, error) {
	return core.NewVerifier(
		core.WithTokenHeader("X-Api-Token", "X-Amazon-Token"), // headers of your own…
		core.WithTokenCookie("lwa_token"),                     // …and a cookie (see SECURITY.md on CSRF)
		core.WithQueryToken(false),                            // no ?access_token= (it lands in access logs)
	)
}

func readmeConfiguration(webID, tvID, appID string) (*core.Verifier, error) {
	return core.NewVerifier(
		core.WithClientID(webID, tvID),     // or LWA_CLIENT_ID=web,tv
		core.WithAppID(appID),              // also any other client ID of the same security profile
		core.WithEndpoint(core.EndpointEU), // or LWA_ENDPOINT; region.EU.APIURL is the same
		core.WithCacheTTL(2*time.Minute),   // the longest a token revoked at Amazon still works here
		core.WithConcurrency(128, 8192),    // verifications asking Amazon at once, and waiting
		core.WithQueryToken(false),
		core.WithLogger(slog.Default().With("component", "lwa")),
	)
}

func readmeLogout(v *core.Verifier, mux *http.ServeMux) {
	mux.Handle("POST /logout", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := stdlwa.Token(r) // exactly as the middleware extracted it, from whichever source
		if err := v.Revoke(r.Context(), tok); err != nil {
			log.Printf("logout: %v", err) // stored here, but the other replicas may not have heard it
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	mux.Handle("POST /logout-everywhere", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		if err := v.RevokeUser(r.Context(), p.UserID); err != nil { // every token issued until now
			log.Printf("logout everywhere: %v", err)
		}
		w.WriteHeader(http.StatusNoContent)
	})))
}

func readmeErrors(v *core.Verifier, token string, w http.ResponseWriter, r *http.Request) {
	p, err := v.Verify(r.Context(), token)
	if err != nil {
		if e := core.AsError(err); e.StatusCode() >= 500 {
			log.Printf("Login with Amazon trouble: %v", e) // never carries the token
		}
		if errors.Is(err, core.ErrNotOurToken) {
			log.Print("a token issued to another app") // answered 404 not_found
		}
		core.WriteError(w, err) // the table's status, headers and body
		return
	}
	if p.PostalCode == "" {
		core.WriteError(w, core.NewError(core.ErrInsufficientScope, "this route needs your postal code"))
		return
	}
}

func readmeReplicas() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"}) // the client you already have (Cluster and Sentinel too)
	// The fleet's key comes from LWA_SHARED_KEYS (or core.WithSharedKeys):
	// the same on every replica, never stored in Redis.
	v, err := core.NewVerifier(core.WithSharedCache(redislwa.New(rdb, redislwa.WithLogger(slog.Default()))))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
}

func readmeObservability() {
	obs, err := otellwa.New() // the global MeterProvider and TracerProvider; or WithMeterProvider, WithTracerProvider
	if err != nil {
		log.Fatal(err)
	}
	defer obs.Close()
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
	v := srv.Verifier(t)    // accepts lwatest.ClientID, logs nothing, runs on the fake's clock, closed with the test
	r := gin.New()
	r.GET("/me", ginlwa.New(v), func(c *gin.Context) {
		p, _ := ginlwa.Profile(c)
		c.String(http.StatusOK, "hello "+p.Name)
	})
	get := func(tok string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}

	tok := srv.Token(core.Profile{Name: "Ada"})
	if w := get(tok); w.Body.String() != "hello Ada" {
		t.Fatalf("signed in: got %d %q", w.Code, w.Body)
	}
	srv.Revoke(tok) // the verifier forgets it at once
	if w := get(tok); w.Code != http.StatusBadRequest {
		t.Fatalf("revoked token: got %d", w.Code)
	}

	tok = srv.Token(core.Profile{Name: "Bo"})
	if w := get(tok); w.Code != http.StatusOK {
		t.Fatalf("signed in: got %d", w.Code)
	}
	srv.Advance(time.Hour) // the token expires at Amazon, and what the verifier cached ages with it
	if w := get(tok); w.Code != http.StatusBadRequest {
		t.Fatalf("expired token: got %d", w.Code)
	}

	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: http.StatusInternalServerError, Times: 1})
	if w := get(srv.Token(core.Profile{Name: "Cy"})); w.Code != http.StatusBadGateway {
		t.Fatalf("Amazon failing: got %d", w.Code)
	}
}

// TestREADMEQuickStarts runs each quick start of the README, configured by
// LWA_CLIENT_ID and LWA_ENDPOINT as in production, against lwatest: a
// token is greeted with its profile, a request without one is refused.
func TestREADMEQuickStarts(t *testing.T) {
	srv := lwatest.Start(t)
	t.Setenv(core.EnvClientID, lwatest.ClientID)
	t.Setenv(core.EnvEndpoint, srv.URL)
	t.Cleanup(func() {
		if err := core.CloseRequired(); err != nil {
			t.Error(err)
		}
	})
	token := srv.Token(core.Profile{UserID: "amzn1.account.ADA", Name: "Ada"})
	fiberTest := func(test func(*http.Request) (*http.Response, error)) func(*http.Request) (int, string) {
		return func(req *http.Request) (int, string) {
			resp, err := test(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
	}
	fiberV2, fiberV3 := newFiberV2(), newFiberV3()
	for name, serve := range map[string]func(*http.Request) (int, string){
		"net/http": recorded(newMux()),
		"gin":      recorded(newGinRouter()),
		"echo v5":  recorded(newEchoV5()),
		"echo v4":  recorded(newEchoV4()),
		"fiber v3": fiberTest(func(req *http.Request) (*http.Response, error) { return fiberV3.Test(req) }),
		"fiber v2": fiberTest(func(req *http.Request) (*http.Response, error) { return fiberV2.Test(req, -1) }),
	} {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		code, body := serve(req)
		var p core.Profile
		if err := json.Unmarshal([]byte(body), &p); code != http.StatusOK || err != nil || p.UserID != "amzn1.account.ADA" || p.Name != "Ada" {
			t.Errorf("%s, a token: got %d %q", name, code, body)
		}
		code, body = serve(httptest.NewRequest(http.MethodGet, "/me", nil))
		if code != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_request"`) {
			t.Errorf("%s, no token: got %d %q", name, code, body)
		}
	}
}

// recorded serves requests with h through an httptest.ResponseRecorder.
func recorded(h http.Handler) func(*http.Request) (int, string) {
	return func(req *http.Request) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
}

// TestREADMELogout runs the README's sign-out routes: POST /logout stops
// the token it carries, and only that one; POST /logout-everywhere stops
// every token of the customer.
func TestREADMELogout(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	mux := http.NewServeMux()
	readmeLogout(v, mux)
	post := func(path, tok string) int {
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.Header.Set("x-amz-access-token", tok) // any source: Token gives it back as extracted
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w.Code
	}
	ada := core.Profile{UserID: "amzn1.account.ADA", Name: "Ada"}
	phone, laptop := srv.Token(ada), srv.Token(ada)
	ctx := context.Background()

	if code := post("/logout", phone); code != http.StatusNoContent {
		t.Fatalf("logout: got %d", code)
	}
	if _, err := v.Verify(ctx, phone); !errors.Is(err, core.ErrInvalidToken) {
		t.Fatalf("the signed-out token: got %v, want invalid_token", err)
	}
	if _, err := v.Verify(ctx, laptop); err != nil {
		t.Fatalf("her other token: got %v, want accepted", err)
	}
	if code := post("/logout-everywhere", laptop); code != http.StatusNoContent {
		t.Fatalf("logout everywhere: got %d", code)
	}
	if _, err := v.Verify(ctx, laptop); !errors.Is(err, core.ErrInvalidToken) {
		t.Fatalf("after logout everywhere: got %v, want invalid_token", err)
	}
}

// TestREADMESnippets checks that every Go block of README.md is, line for
// line (indentation aside), in the file and function its comment names.
func TestREADMESnippets(t *testing.T) {
	snippets.Check(t, "README.md")
}
