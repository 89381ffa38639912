package otellwa_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
	"github.com/go-lwa/lwa/otellwa"
)

var ctx = context.Background()

// TestNewGlobalProviders: with no option the Observer uses the global
// providers (no-ops here) and every hook works.
func TestNewGlobalProviders(t *testing.T) {
	obs, err := otellwa.New(otellwa.WithMeterProvider(nil), otellwa.WithTracerProvider(nil))
	require.NoError(t, err)
	var o core.Observer = obs
	o.Request(ctx, observe.RequestEvent{Outcome: observe.OutcomeAuthenticated})
	o.CacheLookup(ctx, observe.CacheEvent{Tier: observe.TierLocal, Result: observe.LookupHit})
	o.VerificationWaiting(ctx, 1)
	vctx := o.VerificationStart(ctx)
	uctx := o.UpstreamStart(vctx, observe.UpstreamCall{Endpoint: "tokeninfo", Method: "GET"})
	o.UpstreamEnd(uctx, observe.UpstreamEvent{StatusCode: 200})
	o.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeOK})
	o.Attach(func() observe.Stats { return observe.Stats{} })()
	require.NoError(t, obs.Close())
}

// TestInstruments: every instrument's name, unit, kind and description,
// collected before any event.
func TestInstruments(t *testing.T) {
	f := newFixture(t)
	f.obs.Attach(func() observe.Stats {
		return observe.Stats{Breaker: observe.BreakerClosed, Shared: observe.SharedHealthy}
	})
	f.obs.VerificationEnd(ctx, observe.VerificationEvent{Outcome: observe.OutcomeOK})
	f.obs.UpstreamEnd(ctx, observe.UpstreamEvent{UpstreamCall: observe.UpstreamCall{Endpoint: "profile"}, StatusCode: 200})
	f.obs.StaleServed(ctx, observe.StaleEvent{Staleness: time.Second})
	f.obs.Revocation(ctx, observe.RevocationEvent{Kind: observe.RevokeToken, Received: true, Lag: time.Millisecond})
	f.obs.SharedCall(ctx, observe.SharedCallEvent{Op: observe.SharedGet, Outcome: observe.SharedOK, Duration: time.Millisecond})
	got := f.collect(t)

	type want struct {
		unit      string
		kind      string
		monotonic bool
	}
	wants := map[string]want{
		"lwa.requests":              {"{request}", "sum", true},
		"lwa.cache.lookups":         {"{lookup}", "sum", true},
		"lwa.verifications":         {"{verification}", "sum", true},
		"lwa.verification.duration": {"s", "histogram", false},
		"lwa.upstream.duration":     {"s", "histogram", false},
		"lwa.verifications.active":  {"{verification}", "sum", false},
		"lwa.verifications.waiting": {"{verification}", "sum", false},
		"lwa.cache.entries":         {"{entry}", "gauge", false},
		"lwa.breaker.state":         {"{verifier}", "gauge", false},
		"lwa.breaker.transitions":   {"{transition}", "sum", true},
		"lwa.stale.served":          {"{answer}", "sum", true},
		"lwa.stale.age":             {"s", "histogram", false},
		"lwa.revocations":           {"{revocation}", "sum", true},
		"lwa.revocation.lag":        {"s", "histogram", false},
		"lwa.shared.calls":          {"{call}", "sum", true},
		"lwa.shared.duration":       {"s", "histogram", false},
		"lwa.shared.state":          {"{verifier}", "gauge", false},
		"lwa.shared.forgeries":      {"{item}", "sum", true},
	}
	require.Len(t, got, len(wants))
	for name, w := range wants {
		m, ok := got[name]
		require.Truef(t, ok, "no metric %s", name)
		assert.Equal(t, w.unit, m.Unit, name)
		assert.NotEmpty(t, m.Description, name)
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			assert.Equal(t, "sum", w.kind, name)
			assert.Equal(t, w.monotonic, d.IsMonotonic, name)
		case metricdata.Histogram[float64]:
			assert.Equal(t, "histogram", w.kind, name)
		case metricdata.Gauge[int64]:
			assert.Equal(t, "gauge", w.kind, name)
		default:
			t.Errorf("%s: unexpected data %T", name, m.Data)
		}
	}
}

// TestRequests: lwa.requests counts every decision by outcome and code;
// every known combination is there from the start; an unknown or empty code
// is _OTHER, never the code itself; a non-request outcome is not counted.
func TestRequests(t *testing.T) {
	f := newFixture(t)
	zero := map[string]int64{
		"lwa.outcome=authenticated":                          0,
		"lwa.outcome=anonymous":                              0,
		"error.type=invalid_request,lwa.outcome=rejected":    0,
		"error.type=invalid_token,lwa.outcome=rejected":      0,
		"error.type=insufficient_scope,lwa.outcome=rejected": 0,
		"error.type=not_found,lwa.outcome=rejected":          0,
		"error.type=server_error,lwa.outcome=rejected":       0,
	}
	assert.Equal(t, zero, sumOf(t, f.collect(t)["lwa.requests"], true))

	events := map[observe.RequestEvent]int{
		{Outcome: observe.OutcomeAuthenticated}:                                3,
		{Outcome: observe.OutcomeAuthenticated, Code: "ignored"}:               1,
		{Outcome: observe.OutcomeAnonymous}:                                    2,
		{Outcome: observe.OutcomeRejected, Code: core.CodeInvalidRequest}:      4,
		{Outcome: observe.OutcomeRejected, Code: core.CodeInvalidToken}:        5,
		{Outcome: observe.OutcomeRejected, Code: core.CodeInsufficientScope}:   6,
		{Outcome: observe.OutcomeRejected, Code: core.CodeNotFound}:            7,
		{Outcome: observe.OutcomeRejected, Code: core.CodeServerError}:         8,
		{Outcome: observe.OutcomeRejected, Code: "Atza|a-token-a-caller-sent"}: 1,
		{Outcome: observe.OutcomeRejected}:                                     1,
		{Outcome: observe.OutcomeOK}:                                           9, // not a request outcome
		{}:                                                                     9,
	}
	for ev, n := range events {
		for range n {
			f.obs.Request(ctx, ev)
		}
	}
	assert.Equal(t, map[string]int64{
		"lwa.outcome=authenticated":                          4,
		"lwa.outcome=anonymous":                              2,
		"error.type=invalid_request,lwa.outcome=rejected":    4,
		"error.type=invalid_token,lwa.outcome=rejected":      5,
		"error.type=insufficient_scope,lwa.outcome=rejected": 6,
		"error.type=not_found,lwa.outcome=rejected":          7,
		"error.type=server_error,lwa.outcome=rejected":       8,
		"error.type=_OTHER,lwa.outcome=rejected":             2,
	}, sumOf(t, f.collect(t)["lwa.requests"], true))
}

// TestCacheLookups: lwa.cache.lookups by tier and result.
func TestCacheLookups(t *testing.T) {
	f := newFixture(t)
	n := 1
	for _, tier := range []observe.Tier{observe.TierLocal, observe.TierShared} {
		for _, res := range []observe.LookupResult{observe.LookupHit, observe.LookupMiss, observe.LookupRejectedHit} {
			for range n {
				f.obs.CacheLookup(ctx, observe.CacheEvent{Tier: tier, Result: res})
			}
			n++
		}
	}
	f.obs.CacheLookup(ctx, observe.CacheEvent{Tier: 0, Result: observe.LookupHit}) // unknown: not counted
	f.obs.CacheLookup(ctx, observe.CacheEvent{Tier: observe.TierLocal, Result: 9})
	assert.Equal(t, map[string]int64{
		"lwa.cache.result=hit,lwa.cache.tier=local":           1,
		"lwa.cache.result=miss,lwa.cache.tier=local":          2,
		"lwa.cache.result=rejected_hit,lwa.cache.tier=local":  3,
		"lwa.cache.result=hit,lwa.cache.tier=shared":          4,
		"lwa.cache.result=miss,lwa.cache.tier=shared":         5,
		"lwa.cache.result=rejected_hit,lwa.cache.tier=shared": 6,
	}, sumOf(t, f.collect(t)["lwa.cache.lookups"], true))
}

// TestVerifications: lwa.verifications, lwa.verification.duration and
// lwa.verifications.active.
func TestVerifications(t *testing.T) {
	f := newFixture(t)
	vctx := f.obs.VerificationStart(ctx)
	f.obs.VerificationStart(ctx)
	f.obs.VerificationStart(ctx)
	m := f.collect(t)
	assert.Equal(t, map[string]int64{"": 3}, sumOf(t, m["lwa.verifications.active"], false))

	f.obs.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeOK, Duration: 250 * time.Millisecond})
	f.obs.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeRejected, Code: core.CodeInvalidToken, Duration: 500 * time.Millisecond})
	f.obs.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeFailed, Code: core.CodeServerError, Duration: 2 * time.Second})
	f.obs.VerificationEnd(ctx, observe.VerificationEvent{Outcome: observe.OutcomeFailed, Code: "secret-ish", Duration: time.Second})
	f.obs.VerificationEnd(ctx, observe.VerificationEvent{Outcome: observe.OutcomeRejected, Code: core.CodeNotFound})
	m = f.collect(t)
	assert.Equal(t, map[string]int64{
		"lwa.outcome=ok": 1,
		"error.type=invalid_token,lwa.outcome=rejected": 1,
		"error.type=not_found,lwa.outcome=rejected":     1,
		"error.type=server_error,lwa.outcome=error":     1,
		"error.type=_OTHER,lwa.outcome=error":           1,
	}, sumOf(t, m["lwa.verifications"], true))
	assert.Equal(t, map[string]histPoint{"": {Count: 5, Sum: 3.75}}, histOf(t, m["lwa.verification.duration"]))
	assert.Equal(t, map[string]int64{"": -2}, sumOf(t, m["lwa.verifications.active"], false),
		"each VerificationEnd subtracts 1, whatever its context")
}

// TestWaiting: lwa.verifications.waiting follows the deltas, down to 0.
func TestWaiting(t *testing.T) {
	f := newFixture(t)
	f.obs.VerificationWaiting(ctx, 1)
	f.obs.VerificationWaiting(ctx, 1)
	f.obs.VerificationWaiting(ctx, 1)
	f.obs.VerificationWaiting(ctx, -1)
	assert.Equal(t, map[string]int64{"": 2}, sumOf(t, f.collect(t)["lwa.verifications.waiting"], false))
	f.obs.VerificationWaiting(ctx, -2)
	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, f.collect(t)["lwa.verifications.waiting"], false))
	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, f.collect(t)["lwa.verifications.active"], false))
}

// TestUpstreamDuration: lwa.upstream.duration by endpoint, status and
// error type.
func TestUpstreamDuration(t *testing.T) {
	f := newFixture(t)
	call := func(ep string) observe.UpstreamCall {
		return observe.UpstreamCall{Endpoint: ep, Method: "GET", ServerAddress: "api.amazon.com", ServerPort: 443}
	}
	for _, ev := range []observe.UpstreamEvent{
		{UpstreamCall: call("tokeninfo"), StatusCode: 200, Duration: 100 * time.Millisecond},
		{UpstreamCall: call("tokeninfo"), StatusCode: 200, Duration: 300 * time.Millisecond},
		{UpstreamCall: call("profile"), StatusCode: 200, Duration: 50 * time.Millisecond},
		{UpstreamCall: call("tokeninfo"), StatusCode: 400, Duration: 10 * time.Millisecond},
		{UpstreamCall: call("profile"), StatusCode: 500, ErrorType: "server_error", Duration: time.Second},
		{UpstreamCall: call("profile"), ErrorType: "timeout", Duration: 5 * time.Second},
		{UpstreamCall: call("tokeninfo"), ErrorType: "transport", Duration: 2 * time.Second},
		{UpstreamCall: call("tokeninfo"), ErrorType: "Atza|not an error type", Duration: time.Second},
		{UpstreamCall: call("Atza|elsewhere"), StatusCode: 200, Duration: time.Second},
	} {
		f.obs.UpstreamEnd(f.obs.UpstreamStart(ctx, ev.UpstreamCall), ev)
	}
	assert.Equal(t, map[string]histPoint{
		"http.response.status_code=200,lwa.endpoint=tokeninfo":                       {Count: 2, Sum: 0.4},
		"http.response.status_code=200,lwa.endpoint=profile":                         {Count: 1, Sum: 0.05},
		"error.type=400,http.response.status_code=400,lwa.endpoint=tokeninfo":        {Count: 1, Sum: 0.01},
		"error.type=server_error,http.response.status_code=500,lwa.endpoint=profile": {Count: 1, Sum: 1},
		"error.type=timeout,lwa.endpoint=profile":                                    {Count: 1, Sum: 5},
		"error.type=transport,lwa.endpoint=tokeninfo":                                {Count: 1, Sum: 2},
		"error.type=_OTHER,lwa.endpoint=tokeninfo":                                   {Count: 1, Sum: 1},
		"http.response.status_code=200,lwa.endpoint=_OTHER":                          {Count: 1, Sum: 1},
	}, histOf(t, f.collect(t)["lwa.upstream.duration"]))
}

// TestCacheEntries: lwa.cache.entries sums every attached Verifier's
// stats at collection time, and a detached one's last stats once more.
func TestCacheEntries(t *testing.T) {
	f := newFixture(t)
	_, ok := f.collect(t)["lwa.cache.entries"]
	assert.False(t, ok, "no Verifier attached: no cache to report")

	a := observe.Stats{Verified: 10, Rejected: 1}
	detachA := f.obs.Attach(func() observe.Stats { return a })
	detachB := f.obs.Attach(func() observe.Stats { return observe.Stats{Verified: 5, Rejected: 2} })
	assert.Equal(t, map[string]int64{
		"lwa.cache.kind=verified,lwa.cache.tier=local": 15,
		"lwa.cache.kind=rejected,lwa.cache.tier=local": 3,
	}, gaugeOf(t, f.collect(t)["lwa.cache.entries"]))

	a = observe.Stats{Verified: 20, Rejected: 0} // read at collection time
	assert.Equal(t, map[string]int64{
		"lwa.cache.kind=verified,lwa.cache.tier=local": 25,
		"lwa.cache.kind=rejected,lwa.cache.tier=local": 2,
	}, gaugeOf(t, f.collect(t)["lwa.cache.entries"]))

	detachB()
	detachB() // a second call does nothing
	assert.Equal(t, map[string]int64{
		"lwa.cache.kind=verified,lwa.cache.tier=local": 25,
		"lwa.cache.kind=rejected,lwa.cache.tier=local": 2,
	}, gaugeOf(t, f.collect(t)["lwa.cache.entries"]), "a detached Verifier is in the next collection, once, with its last state")
	assert.Equal(t, map[string]int64{
		"lwa.cache.kind=verified,lwa.cache.tier=local": 20,
		"lwa.cache.kind=rejected,lwa.cache.tier=local": 0,
	}, gaugeOf(t, f.collect(t)["lwa.cache.entries"]), "and only once")

	detachA()
	a = observe.Stats{Verified: 99} // not read after detach
	assert.Equal(t, map[string]int64{
		"lwa.cache.kind=verified,lwa.cache.tier=local": 20,
		"lwa.cache.kind=rejected,lwa.cache.tier=local": 0,
	}, gaugeOf(t, f.collect(t)["lwa.cache.entries"]), "the state at detach")
	if m, ok := f.collect(t)["lwa.cache.entries"]; ok {
		assert.Empty(t, gaugeOf(t, m), "every Verifier detached")
	}
	f.obs.Attach(nil)() // a nil stats function is ignored
}

// TestClose: after Close the observable instruments stop reporting.
func TestClose(t *testing.T) {
	f := newFixture(t)
	f.obs.Request(ctx, observe.RequestEvent{Outcome: observe.OutcomeAuthenticated})
	f.obs.SharedCall(ctx, observe.SharedCallEvent{Op: observe.SharedGet, Outcome: observe.SharedOK})
	f.obs.Attach(func() observe.Stats {
		return observe.Stats{Breaker: observe.BreakerOpen, Shared: observe.SharedBackoff}
	})
	require.Contains(t, f.collect(t), "lwa.requests")
	require.NoError(t, f.obs.Close())
	require.NoError(t, f.obs.Close(), "a second Close does nothing")
	m := f.collect(t)
	for _, name := range []string{"lwa.requests", "lwa.cache.lookups", "lwa.verifications.active", "lwa.verifications.waiting",
		"lwa.breaker.transitions", "lwa.stale.served", "lwa.revocations", "lwa.shared.calls", "lwa.shared.forgeries"} {
		if got, ok := m[name]; ok {
			assert.Empty(t, sumOf(t, got, got.Data.(metricdata.Sum[int64]).IsMonotonic), name)
		}
	}
	for _, name := range []string{"lwa.cache.entries", "lwa.breaker.state", "lwa.shared.state"} {
		if got, ok := m[name]; ok {
			assert.Empty(t, gaugeOf(t, got), name)
		}
	}
}

// attrs returns a span's attributes by key.
func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value
	}
	return out
}

// spansNamed returns the ended spans named name.
func spansNamed(f *fixture, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range f.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestSpans: lwa.verify is an internal child of the caller's span; the
// upstream calls are client children of lwa.verify, with the HTTP
// client conventions' attributes; statuses follow the outcomes.
func TestSpans(t *testing.T) {
	f := newFixture(t)
	cctx, caller := f.tp.Tracer("test").Start(ctx, "caller")

	vctx := f.obs.VerificationStart(cctx)
	ti := observe.UpstreamCall{Endpoint: "tokeninfo", Method: "GET", ServerAddress: "api.amazon.com", ServerPort: 443,
		URL: "https://api.amazon.com/auth/o2/tokeninfo?access_token=REDACTED"}
	pr := observe.UpstreamCall{Endpoint: "profile", Method: "GET", ServerAddress: "api.amazon.com", ServerPort: 443,
		URL: "https://api.amazon.com/user/profile"}
	tctx := f.obs.UpstreamStart(vctx, ti)
	pctx := f.obs.UpstreamStart(vctx, pr)
	f.obs.UpstreamEnd(pctx, observe.UpstreamEvent{UpstreamCall: pr, StatusCode: 200, Duration: time.Millisecond})
	f.obs.UpstreamEnd(tctx, observe.UpstreamEvent{UpstreamCall: ti, StatusCode: 200, Duration: time.Millisecond})
	f.obs.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeOK, Duration: time.Millisecond})
	assert.True(t, caller.IsRecording(), "the hooks never end the caller's span")
	caller.End()

	spans := f.spans.Ended()
	require.Len(t, spans, 4, spanTree(spans))
	verify := spansNamed(f, "lwa.verify")
	require.Len(t, verify, 1)
	v := verify[0]
	assert.Equal(t, trace.SpanKindInternal, v.SpanKind())
	assert.Equal(t, caller.SpanContext().TraceID(), v.SpanContext().TraceID())
	assert.Equal(t, caller.SpanContext().SpanID(), v.Parent().SpanID())
	assert.Equal(t, sdktrace.Status{Code: codes.Unset}, v.Status())
	assert.Equal(t, map[string]attribute.Value{"lwa.outcome": attribute.StringValue("ok")}, attrs(v))
	assert.Equal(t, otellwa.ScopeName, v.InstrumentationScope().Name)
	assert.NotEmpty(t, v.InstrumentationScope().Version)

	gets := spansNamed(f, "GET")
	require.Len(t, gets, 2)
	byEndpoint := map[string]map[string]attribute.Value{}
	for _, s := range gets {
		assert.Equal(t, trace.SpanKindClient, s.SpanKind())
		assert.Equal(t, v.SpanContext().SpanID(), s.Parent().SpanID(), "a child of lwa.verify")
		assert.Equal(t, v.SpanContext().TraceID(), s.SpanContext().TraceID())
		assert.Equal(t, sdktrace.Status{Code: codes.Unset}, s.Status())
		assert.Empty(t, s.Events())
		a := attrs(s)
		byEndpoint[a["lwa.endpoint"].AsString()] = a
	}
	assert.Equal(t, map[string]attribute.Value{
		"http.request.method":       attribute.StringValue("GET"),
		"server.address":            attribute.StringValue("api.amazon.com"),
		"server.port":               attribute.IntValue(443),
		"url.full":                  attribute.StringValue("https://api.amazon.com/auth/o2/tokeninfo?access_token=REDACTED"),
		"lwa.endpoint":              attribute.StringValue("tokeninfo"),
		"http.response.status_code": attribute.IntValue(200),
	}, byEndpoint["tokeninfo"])
	assert.Equal(t, map[string]attribute.Value{
		"http.request.method":       attribute.StringValue("GET"),
		"server.address":            attribute.StringValue("api.amazon.com"),
		"server.port":               attribute.IntValue(443),
		"url.full":                  attribute.StringValue("https://api.amazon.com/user/profile"),
		"lwa.endpoint":              attribute.StringValue("profile"),
		"http.response.status_code": attribute.IntValue(200),
	}, byEndpoint["profile"])
}

// TestSpanStatuses: a verification that is not ok and a failed upstream
// call end with status Error, the error code (or class) as message.
func TestSpanStatuses(t *testing.T) {
	tests := []struct {
		name       string
		verify     observe.VerificationEvent
		upstream   observe.UpstreamEvent
		wantVerify sdktrace.Status
		wantCall   sdktrace.Status
		callAttrs  map[string]attribute.Value
	}{{
		name:       "rejected",
		verify:     observe.VerificationEvent{Outcome: observe.OutcomeRejected, Code: core.CodeInvalidToken},
		upstream:   observe.UpstreamEvent{StatusCode: 400},
		wantVerify: sdktrace.Status{Code: codes.Error, Description: "invalid_token"},
		wantCall:   sdktrace.Status{Code: codes.Error, Description: "400"},
		callAttrs: map[string]attribute.Value{
			"http.response.status_code": attribute.IntValue(400),
			"error.type":                attribute.StringValue("400"),
		},
	}, {
		name:       "not found",
		verify:     observe.VerificationEvent{Outcome: observe.OutcomeRejected, Code: core.CodeNotFound},
		upstream:   observe.UpstreamEvent{StatusCode: 200},
		wantVerify: sdktrace.Status{Code: codes.Error, Description: "not_found"},
		wantCall:   sdktrace.Status{Code: codes.Unset},
		callAttrs:  map[string]attribute.Value{"http.response.status_code": attribute.IntValue(200)},
	}, {
		name:       "timeout",
		verify:     observe.VerificationEvent{Outcome: observe.OutcomeFailed, Code: core.CodeServerError},
		upstream:   observe.UpstreamEvent{ErrorType: "timeout"},
		wantVerify: sdktrace.Status{Code: codes.Error, Description: "server_error"},
		wantCall:   sdktrace.Status{Code: codes.Error, Description: "timeout"},
		callAttrs:  map[string]attribute.Value{"error.type": attribute.StringValue("timeout")},
	}, {
		name:       "server error",
		verify:     observe.VerificationEvent{Outcome: observe.OutcomeFailed, Code: "something new"},
		upstream:   observe.UpstreamEvent{StatusCode: 503, ErrorType: "server_error"},
		wantVerify: sdktrace.Status{Code: codes.Error, Description: "_OTHER"},
		wantCall:   sdktrace.Status{Code: codes.Error, Description: "server_error"},
		callAttrs: map[string]attribute.Value{
			"http.response.status_code": attribute.IntValue(503),
			"error.type":                attribute.StringValue("server_error"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			vctx := f.obs.VerificationStart(ctx)
			call := observe.UpstreamCall{Endpoint: "tokeninfo", Method: "GET"}
			tt.upstream.UpstreamCall = call
			f.obs.UpstreamEnd(f.obs.UpstreamStart(vctx, call), tt.upstream)
			f.obs.VerificationEnd(vctx, tt.verify)

			v := spansNamed(f, "lwa.verify")
			require.Len(t, v, 1)
			assert.Equal(t, tt.wantVerify, v[0].Status())
			code := tt.wantVerify.Description
			assert.Equal(t, map[string]attribute.Value{
				"lwa.outcome": attribute.StringValue(tt.verify.Outcome.String()),
				"error.type":  attribute.StringValue(code),
			}, attrs(v[0]))
			assert.False(t, v[0].Parent().IsValid(), "no caller span: a root")

			c := spansNamed(f, "GET")
			require.Len(t, c, 1)
			assert.Equal(t, tt.wantCall, c[0].Status())
			want := map[string]attribute.Value{
				"http.request.method": attribute.StringValue("GET"),
				"lwa.endpoint":        attribute.StringValue("tokeninfo"),
			}
			for k, v := range tt.callAttrs {
				want[k] = v
			}
			assert.Equal(t, want, attrs(c[0]))
		})
	}
}

// TestEndWithoutStart: an End hook given a context without the span its
// Start made ends nothing, and in particular not the caller's span.
func TestEndWithoutStart(t *testing.T) {
	f := newFixture(t)
	cctx, caller := f.tp.Tracer("test").Start(ctx, "caller")
	f.obs.UpstreamEnd(cctx, observe.UpstreamEvent{StatusCode: 500, ErrorType: "server_error"})
	f.obs.VerificationEnd(cctx, observe.VerificationEvent{Outcome: observe.OutcomeFailed, Code: core.CodeServerError})
	assert.True(t, caller.IsRecording())
	assert.Empty(t, f.spans.Ended())

	// The upstream call's context ends the upstream span, the verification's
	// the verification's, whatever the order.
	vctx := f.obs.VerificationStart(cctx)
	uctx := f.obs.UpstreamStart(vctx, observe.UpstreamCall{Endpoint: "profile", Method: "GET"})
	f.obs.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeOK})
	require.Len(t, spansNamed(f, "lwa.verify"), 1)
	assert.Empty(t, spansNamed(f, "GET"))
	f.obs.UpstreamEnd(uctx, observe.UpstreamEvent{StatusCode: 200})
	require.Len(t, spansNamed(f, "GET"), 1)
	caller.End()
}

// TestMethodSpanName: the span name is the method, or HTTP with
// http.request.method _OTHER for a method HTTP does not define.
func TestMethodSpanName(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{"GET", "POST", "", "BREW"} {
		f.obs.UpstreamEnd(f.obs.UpstreamStart(ctx, observe.UpstreamCall{Endpoint: "profile", Method: m}), observe.UpstreamEvent{})
	}
	got := map[string]string{}
	for _, s := range f.spans.Ended() {
		got[s.Name()] = attrs(s)["http.request.method"].AsString()
	}
	assert.Equal(t, map[string]string{"GET": "GET", "POST": "POST", "HTTP": "_OTHER"}, got)
}

// TestURLRedaction: url.full never carries an access_token value, user
// information nor a fragment, even when core's URL does.
func TestURLRedaction(t *testing.T) {
	tok := fakeToken()
	q := url.QueryEscape(tok)
	tests := []struct{ in, want string }{
		{"https://api.amazon.com/auth/o2/tokeninfo?access_token=REDACTED", "https://api.amazon.com/auth/o2/tokeninfo?access_token=REDACTED"},
		{"https://api.amazon.com/user/profile", "https://api.amazon.com/user/profile"},
		{"https://api.amazon.com/auth/o2/tokeninfo?access_token=" + q, "https://api.amazon.com/auth/o2/tokeninfo?access_token=REDACTED"},
		{"https://api.amazon.com/auth/o2/tokeninfo?access_token=" + tok, "https://api.amazon.com/auth/o2/tokeninfo?access_token=REDACTED"},
		{"http://127.0.0.1:8080/x?a=1&access_token=" + q + "&b=2", "http://127.0.0.1:8080/x?a=1&access_token=REDACTED&b=2"},
		{"https://h/x?access_token=REDACTED&access_token=" + q, "https://h/x?access_token=REDACTED&access_token=REDACTED"},
		{"https://h/x?ACCESS_TOKEN=" + q, "https://h/x?ACCESS_TOKEN=REDACTED"},
		{"https://h/x?access%5Ftoken=" + q, "https://h/x?access%5Ftoken=REDACTED"},
		{"https://h/x?access_token", "https://h/x?access_token=REDACTED"},
		{"https://h/x?access_token=", "https://h/x?access_token=REDACTED"},
		{"https://user:" + q + "@h/x", "https://REDACTED:REDACTED@h/x"},
		{"https://h/x#access_token=" + q, "https://h/x"},
		{"https://h/x?other=1", "https://h/x?other=1"},
	}
	for _, tt := range tests {
		f := newFixture(t)
		f.obs.UpstreamEnd(f.obs.UpstreamStart(ctx, observe.UpstreamCall{Endpoint: "tokeninfo", Method: "GET", URL: tt.in}), observe.UpstreamEvent{})
		s := f.spans.Ended()
		require.Len(t, s, 1)
		assert.Equal(t, tt.want, attrs(s[0])["url.full"].AsString())
		requireNoSecret(t, f.outputStrings(t), tok, q)
	}

	// A URL that does not parse is left out rather than exported.
	f := newFixture(t)
	f.obs.UpstreamEnd(f.obs.UpstreamStart(ctx, observe.UpstreamCall{Endpoint: "tokeninfo", Method: "GET", URL: "http://h/%zz?access_token=" + tok}), observe.UpstreamEvent{})
	s := f.spans.Ended()
	require.Len(t, s, 1)
	assert.NotContains(t, attrs(s[0]), "url.full")
	requireNoSecret(t, f.outputStrings(t), tok)
}

// TestSecretAudit drives every hook with a fake token wherever an event
// has a string, and checks that no exported metric or span string (names,
// attribute values, statuses, events) carries any part of it.
func TestSecretAudit(t *testing.T) {
	f := newFixture(t)
	tok := fakeToken()
	q := url.QueryEscape(tok)
	cctx, caller := f.tp.Tracer("test").Start(ctx, "caller")
	for _, u := range []string{
		"https://api.amazon.com/auth/o2/tokeninfo?access_token=" + q,
		"https://api.amazon.com/auth/o2/tokeninfo?access_token=" + tok,
		"https://api.amazon.com/auth/o2/tokeninfo?x=1&Access_Token=" + q,
		"https://" + q + ":" + q + "@api.amazon.com/user/profile#" + q,
		"http://[::1]:%zz/?access_token=" + q,
	} {
		vctx := f.obs.VerificationStart(cctx)
		for _, call := range []observe.UpstreamCall{
			{Endpoint: "tokeninfo", Method: "GET", URL: u, ServerAddress: "api.amazon.com", ServerPort: 443},
			{Endpoint: tok, Method: tok, URL: u, ServerAddress: "api.amazon.com", ServerPort: 443},
		} {
			uctx := f.obs.UpstreamStart(vctx, call)
			f.obs.UpstreamEnd(uctx, observe.UpstreamEvent{UpstreamCall: call, StatusCode: 400, ErrorType: tok, Duration: time.Millisecond})
		}
		f.obs.VerificationEnd(vctx, observe.VerificationEvent{Outcome: observe.OutcomeRejected, Code: tok, Duration: time.Millisecond})
	}
	f.obs.Request(ctx, observe.RequestEvent{Outcome: observe.OutcomeRejected, Code: tok})
	f.obs.Request(ctx, observe.RequestEvent{Outcome: observe.OutcomeAuthenticated, Code: tok})
	f.obs.CacheLookup(ctx, observe.CacheEvent{Tier: observe.TierLocal, Result: observe.LookupMiss})
	f.obs.Attach(func() observe.Stats { return observe.Stats{Verified: 1} })
	caller.End()

	require.Len(t, f.spans.Ended(), 5*3+1)
	for _, s := range f.spans.Ended() {
		assert.Empty(t, s.Events(), s.Name())
		assert.Empty(t, s.Links(), s.Name())
	}
	requireNoSecret(t, f.outputStrings(t), tok, q)
}
