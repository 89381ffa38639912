package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/go-lwa/lwa/core/observe"
)

// Policy is the per-route behaviour of a middleware, shared by every
// adapter. Its zero value is the default: a token is required, and CORS
// preflight requests are answered by the middleware itself (204, no body)
// without reaching the protected handler.
type Policy struct {
	// Optional lets a request that carries no token at all through, without
	// a profile. A request that carries a bad token is still rejected: only
	// an absent token passes.
	Optional bool
	// RequiredFields lists profile fields (FieldEmail, FieldName,
	// FieldPostalCode) this route requires on top of the verifier's
	// WithRequiredFields: a token whose profile lacks one is rejected with
	// insufficient_scope. It shares the verifier's cache: a token verified
	// for another route is not verified again.
	RequiredFields []string
	// ClientIDs, when set, restricts the route to tokens issued to these of
	// the client IDs the verifier accepts (a route for devices only, say); a
	// token of another client is rejected like another app's token.
	ClientIDs []string
	// CheckPreflight subjects CORS preflight requests (OPTIONS with an
	// Access-Control-Request-Method header) to the same check as any other
	// request. Browsers never send credentials on a preflight, so this
	// rejects every real preflight.
	CheckPreflight bool
	// PassPreflight lets CORS preflight requests through to the next
	// handler, without a token and without a profile. It opens the
	// protected handler (for every method, when the route is registered for
	// all methods) to requests that carry nothing but an OPTIONS method and
	// an Access-Control-Request-Method header: use it only when the handler
	// behind the middleware is your CORS handling and checks the method
	// itself. By default (neither flag set) the middleware answers a
	// preflight itself with 204 No Content and calls nothing after it; a
	// CORS middleware registered globally, before lwa, answers preflights
	// first anyway.
	PassPreflight bool
}

// Validate reports a Policy that cannot mean what it says: an unknown
// required field (a typo such as "postalcode" would otherwise let every
// token through), an empty client ID, or both preflight flags. Adapters
// call it when the middleware is built and panic on an error.
func (p Policy) Validate() error {
	if err := checkFields(p.RequiredFields); err != nil {
		return err
	}
	if slices.Contains(p.ClientIDs, "") {
		return errors.New("lwa: Policy.ClientIDs holds an empty client ID")
	}
	if p.CheckPreflight && p.PassPreflight {
		return errors.New("lwa: Policy.CheckPreflight and Policy.PassPreflight contradict each other")
	}
	return nil
}

// checkFields rejects unknown profile field names.
func checkFields(fields []string) error {
	for _, f := range fields {
		if f != FieldEmail && f != FieldName && f != FieldPostalCode {
			return fmt.Errorf("lwa: unknown required profile field %q (want %q, %q or %q)", f, FieldEmail, FieldName, FieldPostalCode)
		}
	}
	return nil
}

// IsPreflight reports whether the request is a CORS preflight.
func (r *Request) IsPreflight() bool {
	return r.Method == http.MethodOptions && r.AccessControlRequestMethod != ""
}

// RequestFromHTTP reads the Request of r for Authenticate, with the token
// sources this Verifier reads (its custom headers and cookies included):
// the adapter kit for frameworks built on net/http.
func (v *Verifier) RequestFromHTTP(r *http.Request) Request {
	req := Request{Method: r.Method}
	if r.Method == http.MethodOptions { // only a preflight needs it
		req.AccessControlRequestMethod = r.Header.Get("Access-Control-Request-Method")
	}
	if !v.cfg.noDocumented {
		req.Authorization = r.Header[HeaderAuthorization]
		req.AmzAccessToken = r.Header[canonicalAmzAccessToken]
		if !v.cfg.noQuery && r.URL != nil {
			req.Query = queryOf(r.URL.RawQuery)
		}
	}
	for i, h := range v.cfg.tokenHeaders {
		if i == 0 {
			req.Header = r.Header[h]
		} else if vals := r.Header[h]; len(vals) > 0 {
			req.Header = append(slices.Clip(req.Header), vals...)
		}
	}
	for _, name := range v.cfg.tokenCookies {
		for _, c := range r.CookiesNamed(name) {
			req.Cookie = append(req.Cookie, c.Value)
		}
	}
	return req
}

// TokenHeaders returns the names of the custom header token sources
// (WithTokenHeader), canonicalized as net/http keys headers: what an adapter
// for another framework reads into Request.Header.
func (v *Verifier) TokenHeaders() []string { return slices.Clone(v.cfg.tokenHeaders) }

// TokenCookies returns the names of the cookie token sources
// (WithTokenCookie): what an adapter for another framework reads into
// Request.Cookie.
func (v *Verifier) TokenCookies() []string { return slices.Clone(v.cfg.tokenCookies) }

// Authenticate is the whole middleware decision for one request, shared by
// every adapter: answer CORS preflights, extract the token, let an absent
// token through on an Optional route, verify it, apply the route's Policy.
//
// For a verified token it returns a context derived from ctx that carries
// the credentials (read them with FromContext, TokenInfoFromContext and
// TokenFromContext; frameworks keep it under ContextKey) and true. For a
// request that may pass without a profile it returns ctx itself and false.
// For a rejection it returns a *Error. A CORS preflight is answered with a
// *Error that matches ErrPreflight (status 204, no body): the adapter
// writes it as a bare 204 and never calls the next handler nor the app's
// error handler, unless the Policy says PassPreflight or CheckPreflight.
// Sources the Verifier does not read (WithQueryToken(false),
// WithDocumentedSources(false)) are ignored.
func (v *Verifier) Authenticate(ctx context.Context, r *Request, pol Policy) (context.Context, bool, error) {
	if !pol.CheckPreflight && r.IsPreflight() {
		v.observeRequest(ctx, observe.OutcomeAnonymous, "")
		if pol.PassPreflight {
			return ctx, false, nil
		}
		return ctx, false, errPreflight()
	}
	src := *r
	if v.cfg.noDocumented {
		src.Authorization, src.AmzAccessToken, src.Query = nil, nil, nil
	}
	if v.cfg.noQuery {
		src.Query = nil
	}
	token, err := extractToken(&src)
	if err == nil {
		var e *entry
		if e, err = v.verify(ctx, token); err == nil {
			if err = v.checkPolicy(e, &pol); err == nil {
				v.observeRequest(ctx, observe.OutcomeAuthenticated, "")
				if r.Volatile {
					token = strings.Clone(token)
				}
				return &credentials{Context: ctx, e: e, token: token}, true, nil
			}
		}
	} else if pol.Optional && errors.Is(err, ErrMissingToken) {
		v.observeRequest(ctx, observe.OutcomeAnonymous, "")
		return ctx, false, nil
	}
	e := v.shape(AsError(err))
	v.observeRequest(ctx, observe.OutcomeRejected, e.Code)
	if v.log.Enabled(ctx, slog.LevelDebug) {
		v.log.LogAttrs(ctx, slog.LevelDebug, "lwa: request rejected",
			slog.Int("status", e.Status), slog.String("code", e.Code),
			slog.String("description", e.Description), slog.String("request_id", e.RequestID))
	}
	return ctx, false, e
}

// checkPolicy applies a route's own requirements to a verified token.
func (v *Verifier) checkPolicy(e *entry, pol *Policy) error {
	if len(pol.ClientIDs) > 0 && !slices.Contains(pol.ClientIDs, e.clientID) {
		return newError(ErrNotOurToken, "not found", nil)
	}
	if f := missingField(e.profile, pol.RequiredFields); f != "" {
		return errMissingField(f)
	}
	return nil
}

func (v *Verifier) observeRequest(ctx context.Context, o observe.Outcome, code string) {
	if v.obs != nil {
		v.obs.Request(ctx, observe.RequestEvent{Outcome: o, Code: code})
	}
}
