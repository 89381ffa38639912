// Package conformance is the one test suite that every adapter of this
// module (ginlwa, echolwa, echov5lwa, fiberlwa, fiberv3lwa, stdlwa) passes,
// on a real loopback server, against the fake LWA server of package lwatest.
//
// An adapter's test describes how to serve a protected route (Adapter) and
// calls Run. The suite covers every row of the error table (rows.go), every
// token extraction rule and source (extraction.go), optional credentials,
// skipping, per-route requirements and app IDs (routes.go), custom error
// handlers and what they cannot do (errorhandler.go), CORS preflights
// (preflight.go), what the handler can read of the request's credentials
// (credentials.go), concurrency without cross-talk and caching (cache.go),
// and Require's configuration (require.go). env.go is the harness.
package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
)

// Path is the route an Adapter protects. It must answer every method.
const Path = "/p"

// SkipHeader marks requests that the adapter's skip function (installed
// when Setup.Skip is set) must skip.
const SkipHeader = "X-Lwa-Skip"

// ClientID is the client ID the suite's verifiers accept.
const ClientID = "amzn1.application-oa2-client.conformance"

// otherClientID is another LWA app, whose tokens must be refused.
const otherClientID = "amzn1.application-oa2-client.someone-else"

// Adapter describes one adapter to the suite.
type Adapter struct {
	// Name is the adapter's package name, as its panics start with it.
	Name string

	// Serve starts a real server listening on 127.0.0.1 whose route Path,
	// for every method, is protected by the adapter's middleware as s
	// describes, and whose handler answers 200 with s.Reply. It returns the
	// base URL ("http://127.0.0.1:PORT") and shuts the server down in a
	// t.Cleanup. It builds the middleware before it starts anything, so
	// that a New that panics leaves nothing behind.
	Serve func(t testing.TB, s Setup) string

	// Require calls the adapter's Require(opts...) and discards the
	// middleware.
	Require func(opts ...core.Option)

	// FrameworkContext says that the framework's own context is a
	// context.Context (Gin's *gin.Context, Fiber v3's fiber.Ctx), on which
	// core.FromContext must work too (Got.Framework).
	FrameworkContext bool

	// TrailingNewline says that the adapter's rejection bodies are core's
	// body followed by "\n" (Echo's HTTPErrorHandler, v4 and v5, encodes with
	// json.Encoder); every other byte must be the same.
	TrailingNewline bool
}

// Setup is what Adapter.Serve builds.
type Setup struct {
	// Verifier is the verifier to pass to New. When nil, Serve builds the
	// middleware with Require(Options...) instead, and ignores the other
	// knobs.
	Verifier *core.Verifier
	// Options are Require's options when Verifier is nil.
	Options []core.Option
	// Policy is the Config's core.Policy.
	Policy core.Policy
	// Skip asks for a skip function (Skip, Skipper, Next) that skips the
	// requests carrying a SkipHeader header.
	Skip bool
	// OnError, when set, asks for a custom error handler that calls OnError
	// with the *core.Error it received (nil if it received another error)
	// and does what the ErrorAnswer says.
	OnError func(e *core.Error) ErrorAnswer

	hits *atomicCounter
}

// ErrorAnswer is what the custom error handler of a Setup does, in the
// framework's idiom.
type ErrorAnswer struct {
	// Status and Body: the handler writes Status with Body as text/plain.
	// When Status is 0 it writes nothing at all and returns without an
	// error (nil in Echo and Fiber).
	Status int
	Body   string
	// Flush: before anything else, the handler flushes the response
	// (http.NewResponseController(w).Flush(), c.Writer.Flush(),
	// c.Response().Flush(), or a Fiber body stream that flushes), which
	// would send an implicit 200.
	Flush bool
	// Hijack: the handler tries to take the connection over and answer
	// "HTTP/1.1 200 OK" on it itself (Fiber: HijackSetNoResponse and
	// Hijack); if it cannot, it writes nothing.
	Hijack bool
}

// RawSuccess is what a hijacking error handler writes on the connection.
const RawSuccess = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhacked"

// Got is what the protected handler read through the adapter.
type Got struct {
	// Request is the request's context.Context; Framework is the
	// framework's own context when it is a context.Context (Gin's
	// *gin.Context, Fiber v3's fiber.Ctx), else nil.
	Request, Framework context.Context

	Profile   core.Profile // Profile(c)
	ProfileOK bool
	Token     string // Token(c)
	TokenOK   bool
	Info      core.TokenInfo // TokenInfo(c)
	InfoOK    bool
}

// seen is the protected handler's answer: what it read, by every path.
type seen struct {
	Adapter   *core.Profile   `json:"adapter"`   // Profile(c)
	Context   *core.Profile   `json:"context"`   // core.FromContext(request context)
	Framework *core.Profile   `json:"framework"` // core.FromContext(framework context), when it is one
	Info      *core.TokenInfo `json:"info"`      // TokenInfo(c)
	CtxInfo   *core.TokenInfo `json:"ctx_info"`  // core.TokenInfoFromContext(request context)
	Token     string          `json:"token"`     // hex SHA-256 of Token(c), "" when none
	CtxToken  string          `json:"ctx_token"` // hex SHA-256 of core.TokenFromContext(request context)
}

// Reply is the protected handler: it counts the call and returns the JSON
// body to answer with, from what the handler read.
func (s Setup) Reply(g Got) []byte {
	if s.hits != nil {
		s.hits.Add(1)
	}
	var out seen
	if g.ProfileOK {
		out.Adapter = &g.Profile
	}
	if cp, ok := core.FromContext(g.Request); ok {
		out.Context = &cp
	}
	if g.Framework != nil {
		if fp, ok := core.FromContext(g.Framework); ok {
			out.Framework = &fp
		}
	}
	if g.InfoOK {
		out.Info = &g.Info
	}
	if info, ok := core.TokenInfoFromContext(g.Request); ok {
		out.CtxInfo = &info
	}
	if g.TokenOK {
		out.Token = tokenHash(g.Token)
	}
	if tok, ok := core.TokenFromContext(g.Request); ok {
		out.CtxToken = tokenHash(tok)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return b
}

// tokenHash names a token in the handler's answer without carrying it.
func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// Run runs the whole suite against a.
func Run(t *testing.T, a Adapter) {
	require.NotNil(t, a.Serve)
	require.NotNil(t, a.Require)
	t.Run("ErrorTable", func(t *testing.T) { testErrorTable(t, a) })
	t.Run("Unavailable", func(t *testing.T) { testUnavailable(t, a) })
	t.Run("RFC6750", func(t *testing.T) { testRFC6750(t, a) })
	t.Run("Extraction", func(t *testing.T) { testExtraction(t, a) })
	t.Run("QueryTokenOff", func(t *testing.T) { testQueryTokenOff(t, a) })
	t.Run("TokenSources", func(t *testing.T) { testTokenSources(t, a) })
	t.Run("Optional", func(t *testing.T) { testOptional(t, a) })
	t.Run("Skip", func(t *testing.T) { testSkip(t, a) })
	t.Run("RouteRequirements", func(t *testing.T) { testRouteRequirements(t, a) })
	t.Run("PolicyValidated", func(t *testing.T) { testPolicyValidated(t, a) })
	t.Run("AppID", func(t *testing.T) { testAppID(t, a) })
	t.Run("CustomErrorHandler", func(t *testing.T) { testCustomErrorHandler(t, a) })
	t.Run("ErrorHandlerGuards", func(t *testing.T) { testErrorHandlerGuards(t, a) })
	t.Run("Preflight", func(t *testing.T) { testPreflight(t, a) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, a) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, a) })
	t.Run("Cache", func(t *testing.T) { testCache(t, a) })
	t.Run("RequirePanics", func(t *testing.T) { testRequirePanics(t, a) })
	t.Run("RequireFromEnv", func(t *testing.T) { testRequireFromEnv(t, a) })
}

// FasthttpLeakOptions are the goroutines a test package that starts
// fasthttp (Fiber) servers must let outlive its tests: fasthttp's Date
// header refresher, one per process for ever, and the idle-worker cleaner of
// a stopped server, which sleeps out MaxIdleWorkerDuration (10 s, not
// settable through Fiber) before it sees the stop. Tests check themselves
// that their servers did stop.
func FasthttpLeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	}
}

// LeakOptions are the goleak options every adapter's TestMain passes:
// goroutines of libraries that are not leaks. The cache cleaner and the
// coarse clock of otter live as long as their cache: a verifier built by
// Require (which the RequireFromEnv test uses, like any program) lives as
// long as the program unless core.CloseRequired closes it.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.periodicCleanUp[...]"),
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.updateCoarseClock"),
	}
}
