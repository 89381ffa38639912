// Package rpcconformance is the one test suite that both RPC adapters of
// this module (grpclwa and connectlwa) pass, on real servers listening on
// loopback TCP, called by real clients, against the fake LWA server of
// package lwatest.
//
// An adapter's test describes how to serve the suite's methods behind its
// interceptors (Adapter) and calls Run. The suite covers every row of the
// error table with its code, ErrorInfo and RetryInfo details (rows.go),
// every token extraction rule and source (extraction.go), optional
// credentials, skipping, the health service, per-method policies and app
// IDs (routes.go), custom error mappers and what they cannot do
// (mapper.go), what handlers can read of a call's credentials, on unary and
// stream contexts (credentials.go), concurrency, coalescing and caching
// (cache.go), and Require's configuration (require.go). env.go is the
// harness. Every call is made unary and server-streaming where the answer
// does not depend on the order of calls.
package rpcconformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// The methods an Adapter serves: a unary and a server-streaming method of
// the Probe service, a unary method of another service, and the standard
// health service's Check.
const (
	ProbeService = "lwa.conformance.Probe"
	OtherService = "lwa.conformance.Other"
	UnaryMethod  = "/" + ProbeService + "/Unary"
	StreamMethod = "/" + ProbeService + "/Stream"
	OtherMethod  = "/" + OtherService + "/Unary"
	HealthMethod = "/grpc.health.v1.Health/Check"
)

// StreamReplies is how many messages the Stream method sends.
const StreamReplies = 2

// ClientID is the client ID the suite's verifiers accept.
const ClientID = "amzn1.application-oa2-client.rpcconformance"

// otherClientID is another LWA app, whose tokens must be refused.
const otherClientID = "amzn1.application-oa2-client.someone-else"

// Adapter describes one adapter, and one client of it, to the suite.
type Adapter struct {
	// Name is the adapter's package name, as its panics start with it.
	Name string

	// Serve starts a real server listening on 127.0.0.1 that serves the
	// four methods behind the adapter's interceptors, configured as s
	// describes, and returns a client for it; everything stops in a
	// t.Cleanup. It builds the interceptors before it starts anything, so
	// that a constructor that panics leaves nothing behind.
	//
	// UnaryMethod and OtherMethod answer one google.protobuf.StringValue,
	// s.Reply of what the handler read; StreamMethod answers StreamReplies
	// of them, each read afresh from the stream's context; HealthMethod is
	// the standard health service's Check, answering SERVING.
	Serve func(t testing.TB, s Setup) Client

	// Require calls the adapter's Require(opts...) and discards the
	// result.
	Require func(opts ...core.Option)

	// HTTPMeta says that a rejection carries the HTTP adapters' headers as
	// its metadata (Cache-Control, WWW-Authenticate, Retry-After), as
	// connectlwa's do on the Connect protocol.
	HTTPMeta bool

	// HalfDuplex says that the transport cannot tell the server that a
	// client hung up before the server has read the whole request (HTTP/1.1:
	// net/http notices a closed connection only once the body is read), so
	// that a streaming call's interceptor cannot see its client go: the
	// CallerGone case checks unary calls only.
	HalfDuplex bool
}

// Setup is what Adapter.Serve builds: the adapter's Config, field by
// field.
type Setup struct {
	// Verifier is the verifier of the interceptors. When nil, Serve builds
	// them with Require(Options...) instead, and ignores the other knobs.
	Verifier *core.Verifier
	// Options are Require's options when Verifier is nil.
	Options []core.Option

	Policy      core.Policy
	Methods     map[string]core.Policy
	Skip        func(ctx context.Context, fullMethod string) bool
	CheckHealth bool

	// OnError, when set, asks for an ErrorMapper that calls OnError with
	// the *core.Error and the method, and answers as it says.
	OnError func(e *core.Error, fullMethod string) Mapped

	hits *atomic.Int64
}

// Mapped is what the error mapper of a Setup answers.
type Mapped int

const (
	// MapCustom: a status of the adapter's own making, code
	// FailedPrecondition (CustomCode) and message "custom " + the LWA code.
	MapCustom Mapped = iota
	// MapNil: no error at all.
	MapNil
	// MapOK: an error whose status is OK (gRPC: an error whose GRPCStatus
	// is OK; Connect: a *connect.Error of code 0).
	MapOK
	// MapPlain: errors.New("plain " + the LWA code), which the protocols
	// answer as Unknown.
	MapPlain
)

// CustomCode is the code of a MapCustom answer: FailedPrecondition.
const CustomCode = 9

// Client calls the adapter's server.
type Client interface {
	// Call calls method with the metadata (request headers) given as
	// key-value pairs (a key may repeat) and returns what came back. It
	// does not fail on an RPC error: the error is the Result.
	Call(ctx context.Context, method string, kv ...string) Result
}

// Result is one call's outcome, as the client saw it.
type Result struct {
	// Replies are the messages received: the handler's answers (the
	// StringValue's value; for HealthMethod, the serving status).
	Replies []string
	// Code is the status code, 0 for OK; Message the status message.
	Code    uint32
	Message string
	// Details are the status details, decoded.
	Details []proto.Message
	// Meta is the metadata the client received with the status (headers
	// and trailers, canonical keys).
	Meta http.Header
	// Err is the client's error, nil on success.
	Err error
}

// Got is what a handler read through the adapter.
type Got struct {
	// Context is the handler's context (the stream's Context() on a
	// stream).
	Context context.Context

	Profile   core.Profile // Profile(ctx)
	ProfileOK bool
	Token     string // Token(ctx)
	TokenOK   bool
	Info      core.TokenInfo // TokenInfo(ctx)
	InfoOK    bool
}

// seen is the handler's answer: what it read, by every path.
type seen struct {
	Adapter  *core.Profile   `json:"adapter"`   // Profile(ctx)
	Context  *core.Profile   `json:"context"`   // core.FromContext(ctx)
	Info     *core.TokenInfo `json:"info"`      // TokenInfo(ctx)
	CtxInfo  *core.TokenInfo `json:"ctx_info"`  // core.TokenInfoFromContext(ctx)
	Token    string          `json:"token"`     // hex SHA-256 of Token(ctx), "" when none
	CtxToken string          `json:"ctx_token"` // hex SHA-256 of core.TokenFromContext(ctx)
}

// Reply is the handlers' answer: it counts the call and returns the JSON
// to answer with, from what the handler read.
func (s Setup) Reply(g Got) string {
	if s.hits != nil {
		s.hits.Add(1)
	}
	var out seen
	if g.ProfileOK {
		out.Adapter = &g.Profile
	}
	if p, ok := core.FromContext(g.Context); ok {
		out.Context = &p
	}
	if g.InfoOK {
		out.Info = &g.Info
	}
	if info, ok := core.TokenInfoFromContext(g.Context); ok {
		out.CtxInfo = &info
	}
	if g.TokenOK {
		out.Token = tokenHash(g.Token)
	}
	if tok, ok := core.TokenFromContext(g.Context); ok {
		out.CtxToken = tokenHash(tok)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err)
	}
	return string(b)
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
	t.Run("CallerGone", func(t *testing.T) { testCallerGone(t, a) })
	t.Run("Extraction", func(t *testing.T) { testExtraction(t, a) })
	t.Run("TokenSources", func(t *testing.T) { testTokenSources(t, a) })
	t.Run("Optional", func(t *testing.T) { testOptional(t, a) })
	t.Run("Skip", func(t *testing.T) { testSkip(t, a) })
	t.Run("Health", func(t *testing.T) { testHealth(t, a) })
	t.Run("MethodPolicies", func(t *testing.T) { testMethodPolicies(t, a) })
	t.Run("PolicyValidated", func(t *testing.T) { testPolicyValidated(t, a) })
	t.Run("AppID", func(t *testing.T) { testAppID(t, a) })
	t.Run("ErrorMapper", func(t *testing.T) { testErrorMapper(t, a) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, a) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, a) })
	t.Run("Cache", func(t *testing.T) { testCache(t, a) })
	t.Run("RequirePanics", func(t *testing.T) { testRequirePanics(t, a) })
	t.Run("RequireFromEnv", func(t *testing.T) { testRequireFromEnv(t, a) })
}

// LeakOptions are the goleak options the RPC adapters' TestMain pass: the
// cache cleaner and coarse clock of otter live as long as their cache, and
// a verifier built by Require (which RequireFromEnv uses, like any
// program) lives as long as the program unless core.CloseRequired closes
// it.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.periodicCleanUp[...]"),
		goleak.IgnoreAnyFunction("github.com/maypok86/otter/v2.updateCoarseClock"),
	}
}

// Codes the suite expects, numbered as gRPC and Connect number them.
const (
	codeOK               = uint32(rpckit.OK)
	codeCanceled         = uint32(rpckit.Canceled)
	codeUnknown          = uint32(rpckit.Unknown)
	codeInvalidArgument  = uint32(rpckit.InvalidArgument)
	codeDeadlineExceeded = uint32(rpckit.DeadlineExceeded)
	codePermissionDenied = uint32(rpckit.PermissionDenied)
	codeUnavailable      = uint32(rpckit.Unavailable)
	codeUnauthenticated  = uint32(rpckit.Unauthenticated)
)
