package otellwa_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

const (
	testClientID  = "amzn1.application-oa2-client.otellwa-test"
	otherClientID = "amzn1.application-oa2-client.someone-else"
)

// TestIntegration drives a real core.Verifier against lwatest and checks
// that the metrics agree with what the fake server counted, and that only
// cold verifications make spans.
func TestIntegration(t *testing.T) {
	f := newFixture(t)
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	v, err := core.NewVerifier(core.WithClientID(testClientID), core.WithEndpoint(srv.URL), core.WithObserver(f.obs))
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = v.Close()
		}
	})
	tracer := f.tp.Tracer("test")

	alice := core.Profile{UserID: "amzn1.account.ALICE", Email: "alice.liddell@example.com", Name: "Alice Liddell", PostalCode: "ZIP-7731"}
	tok := srv.Issue(testClientID, alice)
	revoked := srv.Issue(testClientID, core.Profile{UserID: "amzn1.account.BOB", Email: "bob@example.com", Name: "Bob Builder"})
	srv.Revoke(revoked)
	foreign := srv.Issue(otherClientID, core.Profile{UserID: "amzn1.account.CAROL", Email: "carol@example.com", Name: "Carol Danvers"})

	// Cold verifications, each under its own caller span.
	coldCtx, cold := tracer.Start(context.Background(), "cold")
	p, err := v.Verify(coldCtx, tok)
	require.NoError(t, err)
	assert.Equal(t, alice.Email, p.Email)
	_, err = v.Verify(coldCtx, revoked)
	requireCode(t, err, core.CodeInvalidToken)
	_, err = v.Verify(coldCtx, foreign)
	requireCode(t, err, core.CodeNotFound)
	cold.End()

	// Cached: no span under this caller.
	warmCtx, warm := tracer.Start(context.Background(), "warm")
	_, err = v.Verify(warmCtx, tok)
	require.NoError(t, err)
	_, prof, err := v.Authenticate(warmCtx, &core.Request{Method: "GET",
		Authorization: []string{"Bearer " + tok}}, core.Policy{})
	require.NoError(t, err)
	require.True(t, prof)
	_, _, err = v.Authenticate(warmCtx, &core.Request{Method: "GET"}, core.Policy{})
	requireCode(t, err, core.CodeInvalidRequest)
	_, prof, err = v.Authenticate(warmCtx, &core.Request{Method: "GET"}, core.Policy{Optional: true})
	require.NoError(t, err)
	require.False(t, prof)
	warm.End()

	tokeninfoCalls := srv.CallCount(lwatest.EndpointTokenInfo)
	profileCalls := srv.CallCount(lwatest.EndpointProfile)
	require.Equal(t, 3, tokeninfoCalls, "three cold verifications, one tokeninfo call each")

	m := f.collect(t)
	assert.Equal(t, map[string]int64{
		"lwa.outcome=authenticated":                          1,
		"lwa.outcome=anonymous":                              1,
		"error.type=invalid_request,lwa.outcome=rejected":    1,
		"error.type=invalid_token,lwa.outcome=rejected":      0,
		"error.type=insufficient_scope,lwa.outcome=rejected": 0,
		"error.type=not_found,lwa.outcome=rejected":          0,
		"error.type=server_error,lwa.outcome=rejected":       0,
	}, sumOf(t, m["lwa.requests"], true), "Authenticate decisions only")

	verifications := sumOf(t, m["lwa.verifications"], true)
	assert.Equal(t, map[string]int64{
		"lwa.outcome=ok": 1,
		"error.type=invalid_token,lwa.outcome=rejected": 1,
		"error.type=not_found,lwa.outcome=rejected":     1,
	}, verifications)
	var total int64
	for _, n := range verifications {
		total += n
	}
	assert.Equal(t, int64(tokeninfoCalls), total, "one verification per tokeninfo call lwatest saw")
	assert.Equal(t, map[string]histPoint{"": {Count: uint64(tokeninfoCalls), Sum: histOf(t, m["lwa.verification.duration"])[""].Sum}},
		histOf(t, m["lwa.verification.duration"]))

	lookups := sumOf(t, m["lwa.cache.lookups"], true)
	assert.Equal(t, int64(2), lookups["lwa.cache.result=hit,lwa.cache.tier=local"], "the second Verify and Authenticate")
	assert.Equal(t, int64(tokeninfoCalls), lookups["lwa.cache.result=miss,lwa.cache.tier=local"], "one miss per cold verification")
	assert.Zero(t, lookups["lwa.cache.result=hit,lwa.cache.tier=shared"]+lookups["lwa.cache.result=miss,lwa.cache.tier=shared"], "no shared tier")

	upstream := histOf(t, m["lwa.upstream.duration"])
	var tiCount, prCount uint64
	for k, pt := range upstream {
		set := attrSetOf(t, m, "lwa.upstream.duration", k)
		switch ep, _ := set.Value("lwa.endpoint"); ep.AsString() {
		case "tokeninfo":
			tiCount += pt.Count
		case "profile":
			prCount += pt.Count
		default:
			t.Errorf("unexpected lwa.endpoint in %s", k)
		}
	}
	assert.Equal(t, uint64(tokeninfoCalls), tiCount)
	assert.GreaterOrEqual(t, prCount, uint64(profileCalls), "every profile call lwatest saw was recorded")
	assert.Equal(t, uint64(2), upstream["http.response.status_code=200,lwa.endpoint=tokeninfo"].Count, "alice's and the foreign token")
	assert.Equal(t, uint64(1), upstream["error.type=400,http.response.status_code=400,lwa.endpoint=tokeninfo"].Count, "the revoked token")

	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, m["lwa.verifications.active"], false))
	assert.Equal(t, map[string]int64{"": 0}, sumOf(t, m["lwa.verifications.waiting"], false))
	entries := gaugeOf(t, m["lwa.cache.entries"])
	assert.Equal(t, int64(1), entries["lwa.cache.kind=verified,lwa.cache.tier=local"])

	// Spans: one lwa.verify per cold verification, a child of "cold"; its
	// client spans children of it; nothing under "warm".
	spans := f.spans.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	verify := spansNamed(f, "lwa.verify")
	require.Len(t, verify, tokeninfoCalls, spanTree(spans))
	outcomes := map[string]int{}
	for _, s := range verify {
		assert.Equal(t, trace.SpanKindInternal, s.SpanKind())
		assert.Equal(t, cold.SpanContext().SpanID(), s.Parent().SpanID(), spanTree(spans))
		a := attrs(s)
		outcomes[a["lwa.outcome"].AsString()+"/"+a["error.type"].AsString()]++
	}
	assert.Equal(t, map[string]int{"ok/": 1, "rejected/invalid_token": 1, "rejected/not_found": 1}, outcomes)
	var clientSpans, tiSpans int
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		clientSpans++
		parent, ok := byID[s.Parent().SpanID()]
		require.True(t, ok, spanTree(spans))
		assert.Equal(t, "lwa.verify", parent.Name())
		assert.Equal(t, "GET", s.Name())
		if attrs(s)["lwa.endpoint"].AsString() == "tokeninfo" {
			tiSpans++
			assert.Contains(t, attrs(s)["url.full"].AsString(), "access_token=REDACTED")
		}
	}
	assert.Equal(t, tokeninfoCalls, tiSpans)
	assert.GreaterOrEqual(t, clientSpans, tokeninfoCalls+profileCalls)
	for _, s := range spans {
		assert.NotEqual(t, warm.SpanContext().SpanID(), s.Parent().SpanID(), "a cached check makes no span: %s", s.Name())
	}

	// No output carries a token nor a customer's email, name or postal code.
	requireNoSecret(t, f.outputStrings(t), tok, revoked, foreign,
		alice.Email, alice.Name, alice.PostalCode, "bob@example.com", "Bob Builder", "carol@example.com", "Carol Danvers")

	// Close detaches the Verifier: the next collection has its last state,
	// the following ones no longer report its cache.
	require.NoError(t, v.Close())
	closed = true
	assert.Equal(t, entries, gaugeOf(t, f.collect(t)["lwa.cache.entries"]))
	if m, ok := f.collect(t)["lwa.cache.entries"]; ok {
		assert.Empty(t, gaugeOf(t, m))
	}
}

// requireCode fails unless err is a *core.Error with the given code.
func requireCode(t testing.TB, err error, code string) {
	t.Helper()
	var e *core.Error
	require.True(t, errors.As(err, &e), "%v", err)
	require.Equal(t, code, e.Code)
}

// attrSetOf returns the attribute set of the point of metric name whose key
// is k.
func attrSetOf(t testing.TB, m map[string]metricdata.Metrics, name, k string) attribute.Set {
	t.Helper()
	h := m[name].Data.(metricdata.Histogram[float64])
	for _, dp := range h.DataPoints {
		if key(dp.Attributes) == k {
			return dp.Attributes
		}
	}
	t.Fatalf("%s: no point %s", name, k)
	return attribute.Set{}
}

// TestIntegrationCoalesced: concurrent first uses of one token share one
// verification: one lwa.verify span and one lwa.verifications point for one
// tokeninfo call, while every caller's request and local miss is counted.
func TestIntegrationCoalesced(t *testing.T) {
	f := newFixture(t)
	srv := lwatest.Start(t)
	v := srv.Verifier(t, core.WithObserver(f.obs))
	tok := srv.Token(core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice"})
	srv.SetDelay(lwatest.EndpointTokenInfo, 100*time.Millisecond) // the callers pile up behind the first
	const callers = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	req := &core.Request{Method: "GET", Authorization: []string{"Bearer " + tok}}
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := v.Authenticate(context.Background(), req, core.Policy{})
			assert.NoError(t, err)
		}()
	}
	close(start)
	wg.Wait()

	require.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "one upstream verification")
	m := f.collect(t)
	assert.Equal(t, int64(callers), sumOf(t, m["lwa.requests"], true)["lwa.outcome=authenticated"])
	assert.Equal(t, map[string]int64{"lwa.outcome=ok": 1}, sumOf(t, m["lwa.verifications"], true))
	lookups := sumOf(t, m["lwa.cache.lookups"], true)
	assert.Equal(t, int64(callers), lookups["lwa.cache.result=miss,lwa.cache.tier=local"]+lookups["lwa.cache.result=hit,lwa.cache.tier=local"],
		"one local lookup per caller")
	assert.Len(t, spansNamed(f, "lwa.verify"), 1, "one span for the shared verification")
}
