package core

import (
	"net/url"
	"strings"
)

// Where a request may carry its access token, and where a verified
// request's credentials are kept.
const (
	// HeaderAuthorization carries "Bearer <token>".
	HeaderAuthorization = "Authorization"
	// HeaderAmzAccessToken carries the bare token, as Amazon's own profile
	// endpoint accepts it.
	HeaderAmzAccessToken = "x-amz-access-token"
	// QueryAccessToken is the query parameter that carries the bare token.
	QueryAccessToken = "access_token"
	// MaxTokenLen is the longest access token Amazon documents, in bytes.
	MaxTokenLen = 2048

	// ContextKey is the key under which a verified request's credentials (its
	// profile, token details and token) are found: in the context.Context the
	// adapters hand to handlers, and in the string-keyed stores of frameworks
	// (gin.Context's Keys, Fiber's Locals), where an adapter stores the context
	// Authenticate returned. Frameworks whose context resolves string keys
	// through their store (Gin, Fiber v3) then answer FromContext themselves.
	// What is stored under it is opaque: read it with FromContext,
	// TokenInfoFromContext and TokenFromContext.
	ContextKey = "github.com/go-lwa/lwa.credentials"
)

// canonicalAmzAccessToken is HeaderAmzAccessToken as net/http keys it.
const canonicalAmzAccessToken = "X-Amz-Access-Token"

// Request is what an adapter reads from its framework's request for
// Verifier.Authenticate: the method, the Access-Control-Request-Method
// header, and the token sources. Every source lists all the values the
// request carried, in order. Verifier.RequestFromHTTP fills one from an
// *http.Request; an adapter for a framework without net/http fills it
// itself, reading the headers and cookies Verifier.TokenHeaders and
// Verifier.TokenCookies name.
//
// Formatting a Request (%v, %+v, %#v, slog) never prints a token: only how
// many values each source holds.
type Request struct {
	Method                     string
	AccessControlRequestMethod string   // read on OPTIONS requests only
	Authorization              []string // values of every Authorization header
	AmzAccessToken             []string // values of every x-amz-access-token header
	Query                      []string // values of every access_token query parameter, already URL-decoded once by the router
	Header                     []string // values of every header named by WithTokenHeader
	Cookie                     []string // values of every cookie named by WithTokenCookie
	// Volatile says that the strings point into buffers the framework
	// reuses once the handler returns (fasthttp): whatever outlives the
	// request (the token kept for TokenFromContext, a verification in
	// flight) is copied.
	Volatile bool
}

// extractToken returns the one access token carried by r, or a *Error:
//
//   - Authorization must be "Bearer <token>": the scheme is case-insensitive
//     and spaces around the token are tolerated, but "Bearer" alone, another
//     scheme, "Bearer a b" or several Authorization headers are rejected.
//   - x-amz-access-token, access_token, the custom headers and the cookies
//     carry the bare token.
//   - A token that arrives percent-encoded ("Atza%7C…") is decoded once: LWA
//     tokens never contain '%'.
//   - The same token in several places is fine; two different tokens are
//     rejected (invalid_request, ErrMalformedToken).
//   - Empty values count as absent; no token at all is ErrMissingToken.
//
// It does not judge the token itself (length, characters); Verify does.
func extractToken(r *Request) (string, error) {
	var token string
	switch len(r.Authorization) {
	case 0:
	case 1:
		t, err := parseBearer(r.Authorization[0])
		if err != nil {
			return "", err
		}
		token = t
	default:
		return "", newError(ErrMalformedToken, "the request has more than one Authorization header", nil)
	}
	var err error
	for _, vals := range [...][]string{r.AmzAccessToken, r.Query, r.Header, r.Cookie} {
		for _, v := range vals {
			if token, err = merge(token, strings.TrimSpace(v)); err != nil {
				return "", err
			}
		}
	}
	if token == "" {
		return "", newError(ErrMissingToken, "the request carries no access token", nil)
	}
	return token, nil
}

// parseBearer returns the token of one Authorization header value, "" for an
// empty value.
func parseBearer(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", newError(ErrMalformedToken, "the Authorization header must use the Bearer scheme", nil)
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", newError(ErrMalformedToken, "the Authorization header has no token after Bearer", nil)
	}
	if strings.IndexByte(rest, ' ') >= 0 || strings.IndexByte(rest, '\t') >= 0 {
		return "", newError(ErrMalformedToken, "the Authorization header must carry exactly one token", nil)
	}
	return decodeOnce(rest)
}

// merge adds candidate v to the token found so far.
func merge(token, v string) (string, error) {
	if v == "" {
		return token, nil
	}
	v, err := decodeOnce(v)
	if err != nil {
		return "", err
	}
	if token != "" && token != v {
		return "", newError(ErrMalformedToken, "the request carries two different access tokens", nil)
	}
	return v, nil
}

// decodeOnce undoes one level of percent-encoding.
func decodeOnce(v string) (string, error) {
	if strings.IndexByte(v, '%') < 0 {
		return v, nil
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return "", newError(ErrMalformedToken, "the access token is not validly percent-encoded", nil)
	}
	return d, nil
}

// queryOf returns the access_token values of a raw query. It parses the
// query only when it mentions access_token, so requests with a header token
// cost no allocation here. An escaped name ("access%5Ftoken") is the same
// parameter to routers.
func queryOf(raw string) []string {
	if strings.Contains(raw, QueryAccessToken) || strings.IndexByte(raw, '%') >= 0 {
		return queryValues(raw)
	}
	return nil
}

// queryValues returns every access_token value of a raw query. A value that
// is not validly escaped is kept raw, so that extraction rejects it rather
// than the request passing as if it had no token.
func queryValues(raw string) []string {
	var vals []string
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != QueryAccessToken {
			if dk, err := url.QueryUnescape(k); err != nil || dk != QueryAccessToken {
				continue
			}
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		vals = append(vals, v)
	}
	return vals
}
