package otellwa

import (
	"context"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
)

// ScopeName is the instrumentation scope name of the meter and the tracer
// (and the Go module path).
const ScopeName = "github.com/go-lwa/lwa"

// Observer is a core.Observer that records the Verifier's events as
// OpenTelemetry metrics and spans. Create one with New and pass it to
// core.WithObserver. One Observer may serve several Verifiers; it is safe
// for concurrent use.
//
// Request and CacheLookup, called on every request, only add 1 to an
// atomic counter: the metrics they feed are observable instruments read at
// collection time.
type Observer struct {
	tracer trace.Tracer

	// Hot path: read by collect.
	requests [numRequestBuckets]atomic.Int64
	lookups  [numLookupBuckets]atomic.Int64
	active   atomic.Int64
	waiting  atomic.Int64

	// Observable instruments, read by collect.
	requestsCounter metric.Int64ObservableCounter
	lookupsCounter  metric.Int64ObservableCounter
	activeCounter   metric.Int64ObservableUpDownCounter
	waitingCounter  metric.Int64ObservableUpDownCounter
	entriesGauge    metric.Int64ObservableGauge
	registration    metric.Registration

	// Cold path: synchronous instruments.
	verifications    metric.Int64Counter
	verifyDuration   metric.Float64Histogram
	upstreamDuration metric.Float64Histogram

	// The operators' instruments (ops.go).
	ops       opsInstruments
	opsCounts opsCounts

	// The Verifiers' states (collect.go).
	flush     func(context.Context) error // the MeterProvider's ForceFlush, if it has one
	mu        sync.Mutex
	stats     map[uint64]func() observe.Stats
	departed  tally // the last states of the Verifiers closed since the last collection
	nextID    uint64
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

var _ core.Observer = (*Observer)(nil)

// Option configures an Observer (see New).
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets the MeterProvider the Observer's meter comes from.
// Default: otel.GetMeterProvider(), the global one. A nil mp keeps the
// default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if mp != nil {
			c.mp = mp
		}
	}
}

// WithTracerProvider sets the TracerProvider the Observer's tracer comes
// from. Default: otel.GetTracerProvider(), the global one. A nil tp keeps
// the default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// durationBuckets are the histogram bucket boundaries, in seconds: those
// OpenTelemetry's HTTP conventions advise for http.client.request.duration.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// New returns an Observer whose instruments are created on the meter and
// tracer named ScopeName of the configured providers. It returns an error
// if an instrument or the collection callback cannot be registered.
func New(opts ...Option) (*Observer, error) {
	cfg := config{mp: otel.GetMeterProvider(), tp: otel.GetTracerProvider()}
	for _, opt := range opts {
		opt(&cfg)
	}
	v := moduleVersion()
	meter := cfg.mp.Meter(ScopeName, metric.WithInstrumentationVersion(v))
	o := &Observer{
		tracer: cfg.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(v)),
		stats:  make(map[uint64]func() observe.Stats),
	}
	var err error
	if o.requestsCounter, err = meter.Int64ObservableCounter("lwa.requests",
		metric.WithUnit("{request}"),
		metric.WithDescription("Middleware decisions, by outcome and, when rejected, error code.")); err != nil {
		return nil, err
	}
	if o.lookupsCounter, err = meter.Int64ObservableCounter("lwa.cache.lookups",
		metric.WithUnit("{lookup}"),
		metric.WithDescription("Cache lookups, by tier and result.")); err != nil {
		return nil, err
	}
	if o.activeCounter, err = meter.Int64ObservableUpDownCounter("lwa.verifications.active",
		metric.WithUnit("{verification}"),
		metric.WithDescription("Verifications asking Amazon now.")); err != nil {
		return nil, err
	}
	if o.waitingCounter, err = meter.Int64ObservableUpDownCounter("lwa.verifications.waiting",
		metric.WithUnit("{verification}"),
		metric.WithDescription("Verifications waiting for a concurrency slot.")); err != nil {
		return nil, err
	}
	if o.entriesGauge, err = meter.Int64ObservableGauge("lwa.cache.entries",
		metric.WithUnit("{entry}"),
		metric.WithDescription("Entries in the local cache tier, by kind.")); err != nil {
		return nil, err
	}
	if o.verifications, err = meter.Int64Counter("lwa.verifications",
		metric.WithUnit("{verification}"),
		metric.WithDescription("Verifications that asked Amazon, by outcome and, when not ok, error code.")); err != nil {
		return nil, err
	}
	if o.verifyDuration, err = meter.Float64Histogram("lwa.verification.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of one verification that asked Amazon (both calls)."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if o.upstreamDuration, err = meter.Float64Histogram("lwa.upstream.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of one call to Amazon, from its start to its body read."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if o.ops, err = newOpsInstruments(meter); err != nil {
		return nil, err
	}
	observables := append([]metric.Observable{o.requestsCounter, o.lookupsCounter, o.activeCounter, o.waitingCounter, o.entriesGauge},
		o.ops.observables()...)
	if o.registration, err = meter.RegisterCallback(o.collect, observables...); err != nil {
		return nil, err
	}
	if f, ok := cfg.mp.(interface{ ForceFlush(context.Context) error }); ok {
		o.flush = f.ForceFlush
	}
	return o, nil
}

// moduleVersion returns the version of this module in the running binary,
// or "devel" when it is unknown (tests, a module replaced by a directory).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	var candidates []string
	if bi.Main.Path == ScopeName {
		candidates = append(candidates, bi.Main.Version)
	}
	for _, m := range bi.Deps {
		if m.Path == ScopeName {
			if m.Replace != nil {
				candidates = append(candidates, m.Replace.Version)
			}
			candidates = append(candidates, m.Version)
		}
	}
	for _, v := range candidates {
		if v != "" && v != "(devel)" {
			return v
		}
	}
	return "devel"
}

// Request counts one middleware decision. It does not allocate.
func (o *Observer) Request(_ context.Context, ev observe.RequestEvent) {
	if i := requestBucket(ev); i >= 0 {
		o.requests[i].Add(1)
	}
}

// CacheLookup counts one cache lookup. It does not allocate.
func (o *Observer) CacheLookup(_ context.Context, ev observe.CacheEvent) {
	if i := lookupBucket(ev); i >= 0 {
		o.lookups[i].Add(1)
	}
}

// VerificationWaiting moves lwa.verifications.waiting by delta.
func (o *Observer) VerificationWaiting(_ context.Context, delta int) {
	o.waiting.Add(int64(delta))
}

// verifySpanKey and upstreamSpanKey are the context keys of the spans this
// Observer started, so that an End hook ends its own span and never one of
// its caller's.
type (
	verifySpanKey   struct{}
	upstreamSpanKey struct{}
)

// VerificationStart adds 1 to lwa.verifications.active and starts the
// internal span lwa.verify, a child of the span in ctx. Core calls it only
// when a verification asks Amazon: a request answered from a cache makes no
// span.
func (o *Observer) VerificationStart(ctx context.Context) context.Context {
	o.active.Add(1)
	ctx, span := o.tracer.Start(ctx, "lwa.verify", trace.WithSpanKind(trace.SpanKindInternal))
	return context.WithValue(ctx, verifySpanKey{}, span)
}

// VerificationEnd subtracts 1 from lwa.verifications.active, records the
// verification in lwa.verifications and lwa.verification.duration, and ends
// the lwa.verify span started by VerificationStart (with status Error and
// the error code as its message when the outcome is not ok).
func (o *Observer) VerificationEnd(ctx context.Context, ev observe.VerificationEvent) {
	o.active.Add(-1)
	outcome, code := verificationOutcome(ev)
	o.verifications.Add(ctx, 1, verificationOptions[outcome][code])
	o.verifyDuration.Record(ctx, ev.Duration.Seconds())

	span, ok := ctx.Value(verifySpanKey{}).(trace.Span)
	if !ok {
		return
	}
	attrs := []attribute.KeyValue{attrOutcome.String(verificationOutcomeNames[outcome])}
	if outcome != verifyOK {
		attrs = append(attrs, attrErrorType.String(codeNames[code]))
		span.SetStatus(codes.Error, codeNames[code])
	}
	span.SetAttributes(attrs...)
	span.End()
}

// UpstreamStart starts a client span for one call to Amazon, a child of the
// lwa.verify span in ctx, following OpenTelemetry's HTTP client conventions.
func (o *Observer) UpstreamStart(ctx context.Context, call observe.UpstreamCall) context.Context {
	method, name := httpMethod(call.Method)
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, attrHTTPMethod.String(method))
	if call.ServerAddress != "" {
		attrs = append(attrs, attrServerAddress.String(call.ServerAddress))
	}
	if call.ServerPort > 0 {
		attrs = append(attrs, attrServerPort.Int(call.ServerPort))
	}
	if u, ok := redactURL(call.URL); ok {
		attrs = append(attrs, attrURLFull.String(u))
	}
	attrs = append(attrs, attrEndpoint.String(endpointName(call.Endpoint)))
	ctx, span := o.tracer.Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrs...))
	return context.WithValue(ctx, upstreamSpanKey{}, span)
}

// UpstreamEnd records the call in lwa.upstream.duration and ends the span
// started by UpstreamStart.
func (o *Observer) UpstreamEnd(ctx context.Context, ev observe.UpstreamEvent) {
	attrs := make([]attribute.KeyValue, 0, 3)
	attrs = append(attrs, attrEndpoint.String(endpointName(ev.Endpoint)))
	if ev.StatusCode != 0 {
		attrs = append(attrs, attrHTTPStatus.Int(ev.StatusCode))
	}
	errType := upstreamErrorType(ev)
	if errType != "" {
		attrs = append(attrs, attrErrorType.String(errType))
	}
	o.upstreamDuration.Record(ctx, ev.Duration.Seconds(), metric.WithAttributes(attrs...))

	span, ok := ctx.Value(upstreamSpanKey{}).(trace.Span)
	if !ok {
		return
	}
	if errType != "" {
		span.SetStatus(codes.Error, errType)
	}
	// attrs[0] (lwa.endpoint) is already on the span.
	span.SetAttributes(attrs[1:]...)
	span.End()
}

// upstreamErrorType returns the error.type of one call to Amazon: the class
// core reports (when it is a short identifier) or, for an answer with a
// status of 400 or more, the status code, as OpenTelemetry's HTTP client
// conventions ask; "" for a successful call.
func upstreamErrorType(ev observe.UpstreamEvent) string {
	if ev.ErrorType != "" {
		return safeErrorType(ev.ErrorType)
	}
	if ev.StatusCode >= 400 {
		return strconv.Itoa(ev.StatusCode)
	}
	return ""
}

// safeErrorType returns s when it is a short identifier (at most 32 of
// a-z, A-Z, 0-9, '_', '.', '-'), else "_OTHER": no token can pass.
func safeErrorType(s string) string {
	if len(s) > 32 {
		return otherValue
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return otherValue
		}
	}
	return s
}

// httpMethod returns the http.request.method value and the span name for
// method, per OpenTelemetry's HTTP conventions: a known method for both, or
// "_OTHER" and "HTTP".
func httpMethod(m string) (method, spanName string) {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY":
		return m, m
	case "":
		return "GET", "GET" // net/http's default
	}
	return otherValue, "HTTP"
}

// endpointName returns the lwa.endpoint value: "tokeninfo", "profile", or
// "_OTHER".
func endpointName(e string) string {
	switch e {
	case "tokeninfo", "profile":
		return e
	}
	return otherValue
}
