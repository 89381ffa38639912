package core

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
)

// Policy is the per-route behaviour shared by every adapter's middleware.
// Its zero value is the default: a token is required, and CORS preflight
// requests are answered by the middleware itself (204, no body) without
// reaching the protected handler.
type Policy struct {
	// Optional lets a request that carries no token at all through, without
	// a profile. A request that carries a bad token is still rejected: only
	// an absent token passes.
	Optional bool
	// CheckPreflight subjects CORS preflight requests (OPTIONS with an
	// Access-Control-Request-Method header) to the same check as any other
	// request. Browsers never send credentials on a preflight, so this
	// rejects every real preflight.
	CheckPreflight bool
	// RequiredFields lists profile fields (FieldEmail, FieldName,
	// FieldPostalCode) this route requires on top of the verifier's
	// WithRequiredFields: a token whose profile lacks one is rejected with
	// insufficient_scope. It shares the verifier's cache: a token verified
	// for another route is not verified again.
	RequiredFields []string
	// ClientIDs, when set, restricts the route to tokens issued to these of
	// the verifier's client IDs (a route for devices only, say); a token of
	// another accepted client is rejected like another app's token.
	ClientIDs []string
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

// Request is what an adapter reads from its framework's request: the method,
// the Access-Control-Request-Method header and the token sources.
type Request struct {
	Method                     string
	AccessControlRequestMethod string
	TokenSources
}

// RequestFromHTTP reads a Request from r, with the custom header and cookie
// sources of v (WithTokenHeader, WithTokenCookie), for the adapters built on
// net/http (net/http, Gin, Echo).
func (v *Verifier) RequestFromHTTP(r *http.Request) Request {
	req := RequestFromHTTP(r)
	if v.cfg.tokenHeader != "" {
		req.Header = r.Header.Values(v.cfg.tokenHeader)
	}
	if v.cfg.tokenCookie != "" {
		for _, c := range r.CookiesNamed(v.cfg.tokenCookie) {
			req.Cookie = append(req.Cookie, c.Value)
		}
	}
	return req
}

// TokenHeader returns the name of the custom header token source
// (WithTokenHeader), or "".
func (v *Verifier) TokenHeader() string { return v.cfg.tokenHeader }

// TokenCookie returns the name of the cookie token source
// (WithTokenCookie), or "".
func (v *Verifier) TokenCookie() string { return v.cfg.tokenCookie }

// RequestFromHTTP reads a Request from r: its method, its
// Access-Control-Request-Method header when it is an OPTIONS request, and
// the three documented token sources.
func RequestFromHTTP(r *http.Request) Request {
	req := Request{Method: r.Method, TokenSources: SourcesFromRequest(r)}
	if r.Method == http.MethodOptions { // only a preflight needs it
		req.AccessControlRequestMethod = r.Header.Get("Access-Control-Request-Method")
	}
	return req
}

// IsPreflight reports whether the request is a CORS preflight.
func (r *Request) IsPreflight() bool {
	return r.Method == http.MethodOptions && r.AccessControlRequestMethod != ""
}

// Authenticate is the whole middleware decision for one request, shared by
// every adapter: answer CORS preflights, extract the token, let an absent
// token through on an Optional route, verify it.
//
// It returns, for a verified token, a copy of ctx carrying the profile (see
// FromContext) and the profile itself, which is shared and must not be
// modified; for a request that may pass without a profile, ctx and nil; for a
// rejection, a *Error. A CORS preflight is answered with a *Error that
// matches ErrPreflight (status 204, no body): the adapter writes it as a bare
// 204 and never calls the next handler nor the app's error handler, unless
// the Policy says PassPreflight or CheckPreflight. The query-string source
// is ignored when the Verifier was built with WithQueryToken(false).
func (v *Verifier) Authenticate(ctx context.Context, r *Request, pol Policy) (context.Context, *Profile, error) {
	if !pol.CheckPreflight && r.IsPreflight() {
		v.observeRequest(ctx, OutcomeAnonymous, "")
		if pol.PassPreflight {
			return ctx, nil, nil
		}
		return ctx, nil, errPreflight()
	}
	src := r.TokenSources
	if v.cfg.noDocumented {
		src.Authorization, src.AmzAccessToken, src.Query = nil, nil, nil
	}
	if v.cfg.noQuery {
		src.Query = nil
	}
	token, err := ExtractToken(src)
	if err == nil {
		var e *entry
		if e, err = v.verify(ctx, token); err == nil {
			if err = checkPolicy(e, &pol); err == nil {
				v.observeRequest(ctx, OutcomeAuthenticated, "")
				return newContextShared(ctx, e), &e.profile, nil
			}
		}
	} else if pol.Optional && errors.Is(err, ErrMissingToken) {
		v.observeRequest(ctx, OutcomeAnonymous, "")
		return ctx, nil, nil
	}
	e := v.shape(AsError(err))
	v.observeRequest(ctx, OutcomeRejected, e.Code)
	if v.log.Enabled(ctx, slog.LevelDebug) {
		v.log.LogAttrs(ctx, slog.LevelDebug, "lwa: request rejected",
			slog.Int("status", e.Status), slog.String("code", e.Code),
			slog.String("description", e.Description), slog.String("request_id", e.RequestID))
	}
	return ctx, nil, e
}

// checkPolicy applies a route's own requirements to a verified token.
func checkPolicy(e *entry, pol *Policy) error {
	if len(pol.ClientIDs) > 0 && !slices.Contains(pol.ClientIDs, e.clientID) {
		return newError(ErrNotOurToken, "not found", nil)
	}
	if f := missingField(e.profile, pol.RequiredFields); f != "" {
		return errMissingField(f)
	}
	return nil
}

func (v *Verifier) observeRequest(ctx context.Context, o Outcome, code string) {
	if v.obs != nil {
		v.obs.Request(ctx, RequestEvent{Outcome: o, Code: code})
	}
}
