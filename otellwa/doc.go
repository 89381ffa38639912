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
// counters they feed, and the up-down counters and the gauges, are
// observable instruments read when the MeterProvider collects. The
// operators' hooks (breaker changes, stale answers, revocations, shared
// cache calls, forgeries) add to atomic counters and record histograms with
// precomputed attribute sets: no allocation either. Only a verification
// that asks Amazon makes spans.
//
// # Metrics
//
// Names, units and attributes are stable: dashboards and alerts rely on
// them. Each answers a question; the Prometheus names are those of the
// OpenTelemetry Prometheus exporter (dots become underscores, counters end
// in _total, seconds in _seconds; the attributes become labels the same
// way: lwa.breaker.state is the label lwa_breaker_state).
//
//	instrument                 kind, unit                   the question it answers
//	lwa.requests               counter, {request}           how many requests were let in, and why were the others refused?
//	lwa.cache.lookups          counter, {lookup}            how often does a cache tier answer (the hit ratio)?
//	lwa.verifications          counter, {verification}      how often is Amazon asked, and how often does that fail?
//	lwa.verification.duration  histogram, s                 how long does a cold verification make a request wait?
//	lwa.upstream.duration      histogram, s                 how fast, and how healthy, is each Amazon endpoint?
//	lwa.verifications.active   up-down counter              how many verifications are asking Amazon now?
//	lwa.verifications.waiting  up-down counter              are verifications queueing for a concurrency slot?
//	lwa.cache.entries          gauge, {entry}               how full is the local cache?
//	lwa.breaker.state          gauge, {verifier}            is the circuit breaker in front of Amazon open?
//	lwa.breaker.transitions    counter, {transition}        how often does it open, probe and close (is it flapping)?
//	lwa.stale.served           counter, {answer}            how many answers are served stale while Amazon fails?
//	lwa.stale.age              histogram, s                 how stale are they (past their cache TTL)?
//	lwa.revocations            counter, {revocation}        how many Forget, Revoke, RevokeUser are sent and received?
//	lwa.revocation.lag         histogram, s                 how long does a revocation take to reach the other replicas?
//	lwa.shared.calls           counter, {call}              is the shared cache (Redis) answering, failing, timing out, skipped?
//	lwa.shared.duration        histogram, s                 how fast does it answer?
//	lwa.shared.state           gauge, {verifier}            is the shared tier in use, or backing off after a failure?
//	lwa.shared.forgeries       counter, {item}              did anyone write forged or unreadable values or messages to it?
//
// Their attributes:
//
//   - lwa.requests: every middleware decision. lwa.outcome = authenticated
//     | anonymous (let through without a profile: an optional route without
//     a token, or a CORS preflight) | rejected; error.type = the error code
//     when rejected (invalid_request, invalid_token, insufficient_scope,
//     not_found, server_error).
//   - lwa.cache.lookups: every lookup in a cache tier. lwa.cache.tier =
//     local | shared; lwa.cache.result = hit | miss | rejected_hit (a
//     remembered rejection or a revocation).
//   - lwa.verifications: every verification that asked Amazon (concurrent
//     first uses of one token share one). lwa.outcome = ok | rejected |
//     error; error.type = the error code when not ok.
//   - lwa.verification.duration: one such verification, both calls to
//     Amazon included. No attributes.
//   - lwa.upstream.duration: one call to Amazon. lwa.endpoint = tokeninfo |
//     profile; http.response.status_code when Amazon answered; error.type
//     when the call failed: timeout, transport (no answer), canceled (the
//     verifier no longer needed the answer: tokeninfo had already
//     decided), or the status code of an answer with
//     status 400 or more ("500", and "400" for Amazon's documented
//     invalid_token answer too, as OpenTelemetry's HTTP client conventions
//     ask) or of an answer that is not the documented JSON.
//   - lwa.verifications.active, lwa.verifications.waiting (the latter for
//     core.WithConcurrency): no attributes.
//   - lwa.cache.entries: lwa.cache.tier = local; lwa.cache.kind = verified
//     | rejected; summed over every Verifier using the Observer.
//   - lwa.breaker.state: lwa.breaker.state = closed | open | half_open; the
//     number of the Observer's Verifiers in that state, so 1 for the
//     current state and 0 for the others with one Verifier. While Amazon
//     stays down the breaker goes open, half_open (one probe), open again:
//     "not closed" is the question for an alert.
//   - lwa.breaker.transitions: lwa.breaker.state = the state entered.
//   - lwa.stale.served, lwa.stale.age (core.WithStaleIfError): no
//     attributes; the age is how far past the end of its cache TTL the
//     entry was when served. An event with a negative staleness (a
//     refresh ahead of expiry that failed while its entry was still
//     trusted: nothing served stale) is not counted.
//   - lwa.revocations: lwa.revocation.kind = forget | token | user;
//     lwa.revocation.direction = sent (by this process) | received (from
//     another replica, through the shared cache).
//   - lwa.revocation.lag: lwa.revocation.kind; received revocations only:
//     from the sending (on the sender's clock, carried in the
//     authenticated message) to the revocation taking effect here. Clock
//     skew between hosts adds to it; a negative lag is recorded as 0.
//   - lwa.shared.calls: lwa.shared.operation = get | set | setnx | delete
//     | publish; lwa.shared.outcome = ok | error | timeout | skipped (not
//     made: the tier is in its backoff after a failure).
//   - lwa.shared.duration: lwa.shared.operation; calls made only.
//   - lwa.shared.state: lwa.shared.state = healthy | backoff; the number of
//     the Observer's Verifiers in that state. No series when no Verifier
//     has a shared cache.
//   - lwa.shared.forgeries: lwa.shared.forgery = value (a sealed entry or
//     revocation record that does not open under the fleet keys) | message
//     (a published message whose authentication tag is wrong) | unreadable
//     (a value or message of no format this version reads). Such a value is
//     a miss, such a message is ignored: a forgery costs a verification,
//     never trust. The lwa.shared.* counters appear once a shared tier has.
//
// Every known attribute combination of the counters (all but
// lwa.verifications, recorded as verifications end) is reported from the
// start, at 0, so that rate() and increase() see the first event and an
// alert's series exists before the incident. A value outside the known
// sets (an error code or an endpoint this version does not know) is
// reported as "_OTHER", never as the value itself. Histogram buckets, in
// seconds: lwa.verification.duration and lwa.upstream.duration 0.005, 0.01,
// 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10;
// lwa.stale.age 1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600;
// lwa.revocation.lag 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
// 0.5, 1, 2.5, 5, 10, 30; lwa.shared.duration 0.0005, 0.001, 0.0025, 0.005,
// 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.
//
// # Closing
//
// A program that shuts its MeterProvider down at exit (its final
// collection) loses nothing, whatever the order of the defers: a Verifier
// closed before that collection is still in it, once, with its last
// state, and Observer.Close itself asks the MeterProvider for a final
// collection before it lets go. See Observer.Close.
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
