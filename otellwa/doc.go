// Package otellwa records a core.Verifier's work as OpenTelemetry metrics
// and traces. It is the only package of the module that imports
// OpenTelemetry.
//
//	obs, err := otellwa.New(otellwa.WithMeterProvider(mp), otellwa.WithTracerProvider(tp))
//	if err != nil { … }
//	v, err := core.NewVerifier(core.WithObserver(obs))
//
// Both providers default to the global ones (otel.GetMeterProvider,
// otel.GetTracerProvider). The meter and the tracer are named
// "github.com/go-lwa/lwa" (ScopeName), with the module's version.
//
// # Cost
//
// Request and CacheLookup run on every request, cached or not: they add 1 to
// an atomic counter and nothing else (no allocation, a few nanoseconds). The
// counters they feed, and the up-down counters and the gauge, are
// observable instruments read when the MeterProvider collects. Only a
// verification that asks Amazon records synchronous measurements and spans.
//
// # Metrics
//
// Names, units and attributes are stable: dashboards rely on them.
//
//   - lwa.requests (counter, {request}): every middleware decision.
//     lwa.outcome = authenticated | anonymous (let through without a
//     profile: an optional route without a token, or a CORS preflight) |
//     rejected; error.type = the error code when rejected
//     (invalid_request, invalid_token, insufficient_scope, not_found,
//     server_error).
//   - lwa.cache.lookups (counter, {lookup}): every lookup in a cache tier.
//     lwa.cache.tier = local | shared; lwa.cache.result = hit | miss |
//     rejected_hit (a remembered rejection or a revocation).
//   - lwa.verifications (counter, {verification}): every verification that
//     asked Amazon (concurrent first uses of one token share one).
//     lwa.outcome = ok | rejected | error; error.type = the error code when
//     not ok.
//   - lwa.verification.duration (histogram, s): the duration of one such
//     verification, both calls to Amazon included. No attributes.
//   - lwa.upstream.duration (histogram, s): the duration of one call to
//     Amazon. lwa.endpoint = tokeninfo | profile;
//     http.response.status_code when Amazon answered; error.type when the
//     call failed: timeout, transport (no answer), or the status code of an
//     answer with status 400 or more ("500", and "400" for Amazon's
//     documented invalid_token answer too, as OpenTelemetry's HTTP client
//     conventions ask) or of an answer that is not the documented JSON.
//   - lwa.verifications.active (up-down counter, {verification}):
//     verifications asking Amazon now.
//   - lwa.verifications.waiting (up-down counter, {verification}):
//     verifications waiting for a concurrency slot
//     (core.WithMaxConcurrentVerifications).
//   - lwa.cache.entries (gauge, {entry}): entries in the local cache tier,
//     summed over every Verifier using the Observer. lwa.cache.tier = local;
//     lwa.cache.kind = verified | rejected.
//
// Every known attribute combination of lwa.requests and lwa.cache.lookups
// is reported from the start, at 0, so that rate() sees the first increment.
// A value outside the known sets (an error code or an endpoint this version
// does not know) is reported as "_OTHER", never as the value itself.
// Histogram buckets, in seconds: 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
// 0.5, 0.75, 1, 2.5, 5, 7.5, 10.
//
// # Traces
//
//   - lwa.verify (internal span): one verification that asked Amazon, a
//     child of the span in the first caller's context. Attributes
//     lwa.outcome (ok | rejected | error) and, when not ok, error.type (the
//     error code); status Error, with the error code as its message, when
//     not ok.
//   - GET (client span), a child of lwa.verify, one per call to Amazon
//     (tokeninfo and profile, in parallel), following OpenTelemetry's HTTP
//     client conventions: http.request.method, server.address,
//     server.port, url.full (with the access_token value replaced by
//     REDACTED), lwa.endpoint (tokeninfo | profile), and when the call
//     ended http.response.status_code and, on failure, error.type (as in
//     lwa.upstream.duration) with status Error.
//
// A request answered from a cache makes no span: core starts lwa.verify
// only when it asks Amazon. Concurrent requests for one token share one
// lwa.verify span, in the trace of the request that came first. A
// background refresh (core.WithRefreshAhead) asks Amazon too: its
// lwa.verify span is in the trace of the request that triggered it, which
// was itself answered from the cache at once.
//
// # Secrets
//
// No attribute, span name, status message or event carries a token, nor a
// customer's email, name or postal code: core's events do not carry them,
// the URL is redacted again here (access_token values, user information,
// fragment), and string attributes come from fixed sets.
package otellwa
