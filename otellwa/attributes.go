package otellwa

import (
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
)

// Attribute keys. The lwa.* keys are this package's own; the others are
// OpenTelemetry semantic conventions.
const (
	attrOutcome       = attribute.Key("lwa.outcome")
	attrErrorType     = attribute.Key("error.type")
	attrCacheTier     = attribute.Key("lwa.cache.tier")
	attrCacheResult   = attribute.Key("lwa.cache.result")
	attrCacheKind     = attribute.Key("lwa.cache.kind")
	attrEndpoint      = attribute.Key("lwa.endpoint")
	attrHTTPMethod    = attribute.Key("http.request.method")
	attrHTTPStatus    = attribute.Key("http.response.status_code")
	attrServerAddress = attribute.Key("server.address")
	attrServerPort    = attribute.Key("server.port")
	attrURLFull       = attribute.Key("url.full")
)

// otherValue is the value an attribute takes when the event carries a value
// outside its known set (OpenTelemetry's convention for error.type and
// http.request.method): an attribute never carries a string a client
// controls.
const otherValue = "_OTHER"

// redacted replaces the value of an access_token query parameter.
const redacted = "REDACTED"

// Error codes, as indexes.
const (
	codeInvalidRequest = iota
	codeInvalidToken
	codeInsufficientScope
	codeNotFound
	codeServerError
	codeOther
	numCodes
)

// codeNames are the error.type values of the code indexes.
var codeNames = [numCodes]string{
	codeInvalidRequest:    core.CodeInvalidRequest,
	codeInvalidToken:      core.CodeInvalidToken,
	codeInsufficientScope: core.CodeInsufficientScope,
	codeNotFound:          core.CodeNotFound,
	codeServerError:       core.CodeServerError,
	codeOther:             otherValue,
}

// codeIndex maps an error code to its index; anything else (including "")
// is codeOther.
func codeIndex(code string) int {
	switch code {
	case core.CodeInvalidRequest:
		return codeInvalidRequest
	case core.CodeInvalidToken:
		return codeInvalidToken
	case core.CodeInsufficientScope:
		return codeInsufficientScope
	case core.CodeNotFound:
		return codeNotFound
	case core.CodeServerError:
		return codeServerError
	}
	return codeOther
}

// lwa.requests buckets: authenticated, anonymous, then rejected × code.
const (
	reqAuthenticated  = 0
	reqAnonymous      = 1
	reqRejected       = 2 // + code index
	numRequestBuckets = reqRejected + numCodes
)

// requestBucket returns the lwa.requests bucket of ev, or -1 for an outcome
// that is not a request's.
func requestBucket(ev observe.RequestEvent) int {
	switch ev.Outcome {
	case observe.OutcomeAuthenticated:
		return reqAuthenticated
	case observe.OutcomeAnonymous:
		return reqAnonymous
	case observe.OutcomeRejected:
		return reqRejected + codeIndex(ev.Code)
	}
	return -1
}

// requestBucketQuiet reports whether bucket i is left out of a collection
// while it is 0: every known combination is reported from the start (so that
// rate() sees its first increment), the _OTHER one only once it happened.
func requestBucketQuiet(i int) bool { return i == reqRejected+codeOther }

// requestOptions are the attribute sets of the lwa.requests buckets.
var requestOptions = func() (opts [numRequestBuckets]metric.MeasurementOption) {
	opts[reqAuthenticated] = metric.WithAttributeSet(attribute.NewSet(attrOutcome.String("authenticated")))
	opts[reqAnonymous] = metric.WithAttributeSet(attribute.NewSet(attrOutcome.String("anonymous")))
	for c := range numCodes {
		opts[reqRejected+c] = metric.WithAttributeSet(attribute.NewSet(
			attrOutcome.String("rejected"), attrErrorType.String(codeNames[c])))
	}
	return opts
}()

// lwa.cache.lookups buckets: tier × result.
const (
	numTiers         = 2
	numResults       = 3
	numLookupBuckets = numTiers * numResults
)

var (
	tierNames   = [numTiers]string{"local", "shared"}
	resultNames = [numResults]string{"hit", "miss", "rejected_hit"}
)

// lookupBucket returns the lwa.cache.lookups bucket of ev, or -1 for an
// unknown tier or result.
func lookupBucket(ev observe.CacheEvent) int {
	var t, r int
	switch ev.Tier {
	case observe.TierLocal:
		t = 0
	case observe.TierShared:
		t = 1
	default:
		return -1
	}
	switch ev.Result {
	case observe.LookupHit:
		r = 0
	case observe.LookupMiss:
		r = 1
	case observe.LookupRejectedHit:
		r = 2
	default:
		return -1
	}
	return t*numResults + r
}

// lookupOptions are the attribute sets of the lwa.cache.lookups buckets.
var lookupOptions = func() (opts [numLookupBuckets]metric.MeasurementOption) {
	for t := range numTiers {
		for r := range numResults {
			opts[t*numResults+r] = metric.WithAttributeSet(attribute.NewSet(
				attrCacheTier.String(tierNames[t]), attrCacheResult.String(resultNames[r])))
		}
	}
	return opts
}()

// lwa.cache.entries attribute sets.
var (
	entriesVerified = metric.WithAttributeSet(attribute.NewSet(attrCacheTier.String("local"), attrCacheKind.String("verified")))
	entriesRejected = metric.WithAttributeSet(attribute.NewSet(attrCacheTier.String("local"), attrCacheKind.String("rejected")))
)

// Verification outcomes, as indexes.
const (
	verifyOK = iota
	verifyRejected
	verifyError
	numVerifyOutcomes
)

// verificationOutcomeNames are the lwa.outcome values of the verification
// outcome indexes.
var verificationOutcomeNames = [numVerifyOutcomes]string{"ok", "rejected", "error"}

// verificationOutcome returns the outcome and code indexes of ev. An outcome
// that is not a verification's counts as an error.
func verificationOutcome(ev observe.VerificationEvent) (outcome, code int) {
	switch ev.Outcome {
	case observe.OutcomeOK:
		return verifyOK, 0
	case observe.OutcomeRejected:
		return verifyRejected, codeIndex(ev.Code)
	}
	return verifyError, codeIndex(ev.Code)
}

// verificationOptions are the attribute sets of lwa.verifications, by
// outcome and code (the code is ignored when ok).
var verificationOptions = func() (opts [numVerifyOutcomes][numCodes]metric.MeasurementOption) {
	ok := metric.WithAttributeSet(attribute.NewSet(attrOutcome.String("ok")))
	for c := range numCodes {
		opts[verifyOK][c] = ok
		for _, o := range []int{verifyRejected, verifyError} {
			opts[o][c] = metric.WithAttributeSet(attribute.NewSet(
				attrOutcome.String(verificationOutcomeNames[o]), attrErrorType.String(codeNames[c])))
		}
	}
	return opts
}()

// redactURL returns raw for the url.full attribute with every access_token
// query value (whatever its case or encoding) replaced by REDACTED, user
// information replaced by REDACTED:REDACTED and the fragment dropped; false
// when raw is empty or does not parse (the attribute is then left out).
// Core already redacts the URL; this is a second line of defence.
func redactURL(raw string) (string, bool) {
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	if u.User != nil {
		u.User = url.UserPassword(redacted, redacted)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			key, value, _ := strings.Cut(p, "=")
			k, err := url.QueryUnescape(key)
			if err != nil {
				k = key
			}
			if strings.EqualFold(strings.TrimSpace(k), "access_token") && value != redacted {
				parts[i] = key + "=" + redacted
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	u.ForceQuery = false
	return u.String(), true
}
