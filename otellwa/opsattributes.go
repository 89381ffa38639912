package otellwa

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/go-lwa/lwa/core/observe"
)

// Attribute keys of the operators' instruments (breaker, staleness,
// revocations, shared tier).
const (
	attrBreakerState        = attribute.Key("lwa.breaker.state")
	attrRevocationKind      = attribute.Key("lwa.revocation.kind")
	attrRevocationDirection = attribute.Key("lwa.revocation.direction")
	attrSharedOperation     = attribute.Key("lwa.shared.operation")
	attrSharedOutcome       = attribute.Key("lwa.shared.outcome")
	attrSharedState         = attribute.Key("lwa.shared.state")
	attrSharedForgery       = attribute.Key("lwa.shared.forgery")
)

// Every enumeration below is core's (package observe), of the same module
// version: a value outside it is not counted (core never sends one).

// Breaker states, as indexes: observe.BreakerState - 1.
const numBreakerStates = 3

// breakerIndex returns the index of s, or -1.
func breakerIndex(s observe.BreakerState) int {
	switch s {
	case observe.BreakerClosed, observe.BreakerOpen, observe.BreakerHalfOpen:
		return int(s) - 1
	}
	return -1
}

// breakerOptions are the attribute sets of lwa.breaker.state and
// lwa.breaker.transitions, by state index.
var breakerOptions = func() (opts [numBreakerStates]metric.MeasurementOption) {
	for i := range numBreakerStates {
		opts[i] = metric.WithAttributeSet(attribute.NewSet(attrBreakerState.String(observe.BreakerState(i + 1).String())))
	}
	return opts
}()

// Revocation kinds, as indexes: observe.RevocationKind - 1.
const numRevocationKinds = 3

// revocationKindIndex returns the index of k, or -1.
func revocationKindIndex(k observe.RevocationKind) int {
	switch k {
	case observe.RevokeForget, observe.RevokeToken, observe.RevokeUser:
		return int(k) - 1
	}
	return -1
}

// lwa.revocations buckets: kind × direction (sent, received).
const numRevocationBuckets = numRevocationKinds * 2

// revocationBucket returns the lwa.revocations bucket of ev, or -1.
func revocationBucket(ev observe.RevocationEvent) int {
	k := revocationKindIndex(ev.Kind)
	if k < 0 {
		return -1
	}
	if ev.Received {
		return k*2 + 1
	}
	return k * 2
}

// revocationOptions are the attribute sets of the lwa.revocations buckets.
var revocationOptions = func() (opts [numRevocationBuckets]metric.MeasurementOption) {
	for k := range numRevocationKinds {
		kind := attrRevocationKind.String(observe.RevocationKind(k + 1).String())
		opts[k*2] = metric.WithAttributeSet(attribute.NewSet(kind, attrRevocationDirection.String("sent")))
		opts[k*2+1] = metric.WithAttributeSet(attribute.NewSet(kind, attrRevocationDirection.String("received")))
	}
	return opts
}()

// lagOptions are the attribute sets of lwa.revocation.lag, by kind index,
// ready to pass to Record without an allocation.
var lagOptions = func() (opts [numRevocationKinds][]metric.RecordOption) {
	for k := range numRevocationKinds {
		opts[k] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			attrRevocationKind.String(observe.RevocationKind(k + 1).String())))}
	}
	return opts
}()

// Shared cache operations and outcomes, as indexes: the observe value - 1.
const (
	numSharedOps         = 5
	numSharedOutcomes    = 4
	numSharedCallBuckets = numSharedOps * numSharedOutcomes
)

// sharedOpIndex returns the index of op, or -1.
func sharedOpIndex(op observe.SharedOp) int {
	if op >= observe.SharedGet && op <= observe.SharedPublish {
		return int(op) - 1
	}
	return -1
}

// sharedCallBucket returns the lwa.shared.calls bucket of ev, or -1.
func sharedCallBucket(ev observe.SharedCallEvent) int {
	op := sharedOpIndex(ev.Op)
	if op < 0 || ev.Outcome < observe.SharedOK || ev.Outcome > observe.SharedSkipped {
		return -1
	}
	return op*numSharedOutcomes + int(ev.Outcome) - 1
}

// sharedCallOptions are the attribute sets of the lwa.shared.calls buckets.
var sharedCallOptions = func() (opts [numSharedCallBuckets]metric.MeasurementOption) {
	for op := range numSharedOps {
		for out := range numSharedOutcomes {
			opts[op*numSharedOutcomes+out] = metric.WithAttributeSet(attribute.NewSet(
				attrSharedOperation.String(observe.SharedOp(op+1).String()),
				attrSharedOutcome.String(observe.SharedOutcome(out+1).String())))
		}
	}
	return opts
}()

// sharedDurationOptions are the attribute sets of lwa.shared.duration, by
// operation index, ready to pass to Record without an allocation.
var sharedDurationOptions = func() (opts [numSharedOps][]metric.RecordOption) {
	for op := range numSharedOps {
		opts[op] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			attrSharedOperation.String(observe.SharedOp(op + 1).String())))}
	}
	return opts
}()

// Shared tier states reported by lwa.shared.state (none has no series).
const (
	sharedHealthyIndex = 0
	sharedBackoffIndex = 1
	numSharedStates    = 2
)

// sharedStateOptions are the attribute sets of lwa.shared.state.
var sharedStateOptions = [numSharedStates]metric.MeasurementOption{
	sharedHealthyIndex: metric.WithAttributeSet(attribute.NewSet(attrSharedState.String(observe.SharedHealthy.String()))),
	sharedBackoffIndex: metric.WithAttributeSet(attribute.NewSet(attrSharedState.String(observe.SharedBackoff.String()))),
}

// Forgeries, as indexes: observe.Forgery - 1.
const numForgeries = 3

// forgeryIndex returns the index of f, or -1.
func forgeryIndex(f observe.Forgery) int {
	switch f {
	case observe.ForgedValue, observe.ForgedMessage, observe.Unreadable:
		return int(f) - 1
	}
	return -1
}

// forgeryOptions are the attribute sets of lwa.shared.forgeries.
var forgeryOptions = func() (opts [numForgeries]metric.MeasurementOption) {
	for i := range numForgeries {
		opts[i] = metric.WithAttributeSet(attribute.NewSet(attrSharedForgery.String(observe.Forgery(i + 1).String())))
	}
	return opts
}()
