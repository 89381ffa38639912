package benchmarks

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"
	"github.com/valyala/fasthttp"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/fiberv3lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// The cached path through each adapter: the same route and trivial handler,
// bare and behind New(v), in one process, with a token verified beforehand
// (so every protected request is a cache hit). Each request is driven
// in-process through the framework's own entry point (ServeHTTP, or Fiber's
// app.Handler()), with a reused request and a reused, discarding response
// writer: what is measured is the router, the middleware and the handler,
// with no network and no per-request garbage of the benchmark's own.

func init() { gin.SetMode(gin.ReleaseMode) }

// route is the one route of every router; okBody is its handler's answer.
const (
	route  = "/hello"
	okBody = "ok"
)

// maxExtraAllocs is the most allocations a protected request may make
// beyond the bare one, per adapter. The issue's target is 3 (Fiber 1); gin
// and echo sit above it by what their frameworks impose, measured with
// go test -memprofile (see doc.go):
//
//   - every net/http adapter, 2: the credentials context in core (the
//     profile, token details and token in the request's context.Context,
//     which DESIGN.md requires: one allocation, like context.WithValue) and
//     (*http.Request).WithContext, the shallow copy of the request that
//     carries it;
//   - gin, +2: (*gin.Context).Set. Gin resets c.Keys to nil for every
//     request, so the first Set of a request allocates the map and its first
//     group (0 when an earlier middleware already called Set, as request-id
//     and logging middlewares commonly do);
//   - echo, +2 for (*echo.context).Set, for the same reason (c.store = nil),
//     +1 for the closure echolwa's MiddlewareFunc returns: Echo v4 applies
//     middleware anew on every request (applyMiddleware in ServeHTTP), so any
//     middleware that wraps next allocates per request;
//   - fiber, 2: the credentials context, and the copy of the token it keeps
//     for Token(c): fasthttp reuses the header buffer the token was read
//     from once the handler returns, and a context that outlives the
//     handler (a goroutine's) must never read another request's bytes.
//     Locals and SetUserContext store into fasthttp's reused user values;
//   - echov5, 2: the net/http pair only. Echo v5 clears its context's store
//     between requests instead of dropping it (clear(c.store)), so Set
//     reuses the map, and it composes route middleware once, at
//     registration;
//   - fiberv3, 2: as fiber v2. fiberv3lwa stores the credentials with
//     SetUserValue, which is c.Locals' store: c.Locals itself, called
//     through the fiber.Ctx interface, would allocate its variadic argument
//     (+1).
//
// A regression past these numbers fails the test; lowering gin or echo
// further would mean not using their own stores, which the adapters' contract
// requires.
var maxExtraAllocs = map[string]float64{"gin": 4, "echo": 5, "std": 2, "fiber": 2, "echov5": 2, "fiberv3": 2}

// adapter builds one framework's router for the route, bare (v == nil) or
// protected by the adapter's New(v), and drives one request through it.
type adapter struct {
	name  string
	build func(v *core.Verifier, tok string) *stack
}

var adapters = []adapter{
	{"gin", ginStack},
	{"echo", echoStack},
	{"fiber", fiberStack},
	{"std", stdStack},
	{"echov5", echoV5Stack},
	{"fiberv3", fiberV3Stack},
}

// stack is a router ready to serve the same request again and again.
type stack struct {
	serve func()                        // one request, response state reset first
	last  func() (status int, body int) // what the last request answered
}

// discardWriter is an http.ResponseWriter that keeps nothing but the status
// and the body length. Its header map is cleared, not reallocated, between
// requests. Bare and protected stacks use the same type.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header, 8)} }

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// httpStack drives h with one reused request carrying tok.
func httpStack(h http.Handler, tok string) *stack {
	req := httptest.NewRequest(http.MethodGet, route, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := newDiscardWriter()
	return &stack{
		serve: func() {
			w.reset()
			h.ServeHTTP(w, req)
		},
		last: func() (int, int) { return w.status, w.n },
	}
}

func ginStack(v *core.Verifier, tok string) *stack {
	var chain []gin.HandlerFunc
	if v != nil {
		chain = append(chain, ginlwa.New(v))
	}
	chain = append(chain, func(c *gin.Context) { c.String(http.StatusOK, okBody) })
	r := gin.New()
	r.GET(route, chain...)
	return httpStack(r, tok)
}

func echoStack(v *core.Verifier, tok string) *stack {
	var mw []echo.MiddlewareFunc
	if v != nil {
		mw = append(mw, echolwa.New(v))
	}
	e := echo.New()
	e.GET(route, func(c echo.Context) error { return c.String(http.StatusOK, okBody) }, mw...)
	return httpStack(e, tok)
}

func echoV5Stack(v *core.Verifier, tok string) *stack {
	var mw []echov5.MiddlewareFunc
	if v != nil {
		mw = append(mw, echov5lwa.New(v))
	}
	e := echov5.New()
	e.GET(route, func(c *echov5.Context) error { return c.String(http.StatusOK, okBody) }, mw...)
	return httpStack(e, tok)
}

func stdStack(v *core.Verifier, tok string) *stack {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(okBody))
	})
	if v != nil {
		h = stdlwa.New(v)(h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+route, h)
	return httpStack(mux, tok)
}

// fiberStack drives app.Handler() with one reused fasthttp.RequestCtx. Before
// each request it does what fasthttp's server does between two requests on a
// connection, except re-parsing the request: it resets the response and the
// user values (where Fiber keeps Locals and the user context).
func fiberStack(v *core.Verifier, tok string) *stack {
	var chain []fiber.Handler
	if v != nil {
		chain = append(chain, fiberlwa.New(v))
	}
	chain = append(chain, func(c *fiber.Ctx) error { return c.SendString(okBody) })
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get(route, chain...)
	return fasthttpStack(app.Handler(), tok)
}

// fasthttpStack drives h with one reused fasthttp.RequestCtx carrying tok.
func fasthttpStack(h fasthttp.RequestHandler, tok string) *stack {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(route)
	ctx.Request.Header.Set("Authorization", "Bearer "+tok)
	return &stack{
		serve: func() {
			ctx.ResetUserValues()
			ctx.Response.Reset()
			h(ctx)
		},
		last: func() (int, int) { return ctx.Response.StatusCode(), len(ctx.Response.Body()) },
	}
}

// fiberV3Stack is fiberStack for Fiber v3.
func fiberV3Stack(v *core.Verifier, tok string) *stack {
	var handler any = func(c fiberv3.Ctx) error { return c.SendString(okBody) }
	app := fiberv3.New()
	if v != nil {
		app.Get(route, fiberv3lwa.New(v), handler)
	} else {
		app.Get(route, handler)
	}
	return fasthttpStack(app.Handler(), tok)
}

// pair is the bare and the protected stack of one adapter, sharing one
// warmed verifier.
type pair struct {
	f               *fixture
	bare, protected *stack
}

// newPair builds a's two stacks and verifies the token once, through the
// verifier and through the protected stack, so that every request from now on
// is a cache hit.
func newPair(tb testing.TB, a adapter) *pair {
	tb.Helper()
	f := newFixture(tb)
	tok := f.issue(1)[0]
	f.mustVerify(tb, tok)
	p := &pair{f: f, bare: a.build(nil, tok), protected: a.build(f.v, tok)}
	p.check(tb)
	return p
}

// check serves one request through each stack and checks that both answered
// the handler's 200 "ok" (a rejected protected request would be cheap, and
// wrong), and that the token was verified upstream only once.
func (p *pair) check(tb testing.TB) {
	tb.Helper()
	for name, s := range map[string]*stack{"bare": p.bare, "protected": p.protected} {
		s.serve()
		if status, n := s.last(); status != http.StatusOK || n != len(okBody) {
			tb.Fatalf("%s: answered %d with %d body bytes, want 200 %q", name, status, n, okBody)
		}
	}
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointTokenInfo, lwatest.EndpointProfile} {
		if n := p.f.srv.CallCount(ep); n != 1 {
			tb.Fatalf("%v calls = %d, want 1: the protected requests were not cache hits", ep, n)
		}
	}
}

func benchAdapter(b *testing.B, a adapter) {
	p := newPair(b, a)
	for _, c := range []struct {
		name string
		s    *stack
	}{{"bare", p.bare}, {"protected", p.protected}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.s.serve()
			}
		})
	}
	p.check(b)
}

// BenchmarkGin, BenchmarkEcho, BenchmarkFiber and BenchmarkStd each report
// <Adapter>/bare and <Adapter>/protected: the adapter's cached-path overhead
// is the difference.
func BenchmarkGin(b *testing.B)   { benchAdapter(b, adapters[0]) }
func BenchmarkEcho(b *testing.B)  { benchAdapter(b, adapters[1]) }
func BenchmarkFiber(b *testing.B) { benchAdapter(b, adapters[2]) }
func BenchmarkStd(b *testing.B)   { benchAdapter(b, adapters[3]) }

// BenchmarkEchoV5 and BenchmarkFiberV3 do the same for Echo v5 and Fiber v3.
func BenchmarkEchoV5(b *testing.B)  { benchAdapter(b, adapters[4]) }
func BenchmarkFiberV3(b *testing.B) { benchAdapter(b, adapters[5]) }

// allocsPerRequest returns the average allocations of one request, to a
// hundredth: testing.AllocsPerRun truncates to whole allocations per run, so
// each run serves a batch of requests.
func allocsPerRequest(s *stack) float64 {
	const batch = 100
	return testing.AllocsPerRun(20, func() {
		for range batch {
			s.serve()
		}
	}) / batch
}

// raceTolerance absorbs the one source of fractional allocation counts: under
// the race detector, sync.Pool.Put drops a random quarter of what it is given,
// so the frameworks' pooled contexts are sometimes allocated anew, in bare
// and protected requests alike, and their averages differ by noise. It is
// well under one allocation, so an extra allocation in the hot path still
// fails the test under -race. Echo v5 gets half an allocation more: a new
// context also comes without the store map it otherwise reuses, which only
// the protected request's Set then allocates (map and group, 2 allocations,
// a quarter of the time).
func raceTolerance(name string) float64 {
	if !raceEnabled {
		return 0
	}
	if name == "echov5" {
		return 0.8
	}
	return 0.3
}

// TestAdaptersOverheadAllocs checks, for each adapter, that a cached
// protected request allocates at most maxExtraAllocs more than the bare one.
func TestAdaptersOverheadAllocs(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			p := newPair(t, a)
			bare := allocsPerRequest(p.bare)
			protected := allocsPerRequest(p.protected)
			extra := protected - bare
			t.Logf("allocs/request: bare %.2f, protected %.2f, extra %.2f (target ≤ %.0f)", bare, protected, extra, maxExtraAllocs[a.name])
			if extra > maxExtraAllocs[a.name]+raceTolerance(a.name) {
				t.Errorf("a protected request allocates %.2f more than a bare one, want ≤ %.0f", extra, maxExtraAllocs[a.name])
			}
			p.check(t)
		})
	}
}

// TestAdaptersServeProfile checks what the benchmarks take for granted: the
// protected stacks hand the verified profile to the handler, in the
// framework's store and in the request's context.Context.
func TestAdaptersServeProfile(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(1)[0]
	want, _ := f.srv.Profile(tok)
	got := map[string][2]core.Profile{}
	record := func(name string, a, b core.Profile, okA, okB bool) {
		if !okA || !okB {
			t.Errorf("%s: no profile in the request (store %v, context %v)", name, okA, okB)
		}
		got[name] = [2]core.Profile{a, b}
	}

	g := gin.New()
	g.GET(route, ginlwa.New(f.v), func(c *gin.Context) {
		p, ok := ginlwa.Profile(c)
		q, okq := core.FromContext(c.Request.Context())
		record("gin", p, q, ok, okq)
	})
	e := echo.New()
	e.GET(route, func(c echo.Context) error {
		p, ok := echolwa.Profile(c)
		q, okq := core.FromContext(c.Request().Context())
		record("echo", p, q, ok, okq)
		return nil
	}, echolwa.New(f.v))
	mux := http.NewServeMux()
	mux.Handle("GET "+route, stdlwa.New(f.v)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		p, ok := stdlwa.Profile(r)
		q, okq := core.FromContext(r.Context())
		record("std", p, q, ok, okq)
	})))
	e5 := echov5.New()
	e5.GET(route, func(c *echov5.Context) error {
		p, ok := echov5lwa.Profile(c)
		q, okq := core.FromContext(c.Request().Context())
		record("echov5", p, q, ok, okq)
		return nil
	}, echov5lwa.New(f.v))
	for _, h := range []http.Handler{g, e, mux, e5} {
		httpStack(h, tok).serve()
	}
	app3 := fiberv3.New()
	app3.Get(route, fiberv3lwa.New(f.v), func(c fiberv3.Ctx) error {
		p, ok := fiberv3lwa.Profile(c)
		q, okq := core.FromContext(c.Context())
		record("fiberv3", p, q, ok, okq)
		return nil
	})
	fasthttpStack(app3.Handler(), tok).serve()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get(route, fiberlwa.New(f.v), func(c *fiber.Ctx) error {
		p, ok := fiberlwa.Profile(c)
		q, okq := core.FromContext(c.UserContext())
		record("fiber", p, q, ok, okq)
		return nil
	})
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(route)
	ctx.Request.Header.Set("Authorization", "Bearer "+tok)
	app.Handler()(ctx)

	for _, a := range adapters {
		if p, ok := got[a.name]; !ok || p[0] != want || p[1] != want {
			t.Errorf("%s: handler saw %+v, want %+v twice", a.name, p, want)
		}
	}
}
