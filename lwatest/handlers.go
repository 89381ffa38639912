package lwatest

import (
	"encoding/json"
	"net/http"
	"strings"
)

const (
	requestIDHeader = "x-amzn-RequestId" // sent with Amazon's spelling
	errorCT         = "application/json;charset=UTF-8"
	issuer          = "https://www.amazon.com"

	descInvalidToken      = "The request has an invalid parameter : access_token"
	descMissingToken      = "The request is missing a required parameter : access_token"
	descMalformed         = "The request is missing a required parameter or otherwise malformed."
	descInsufficientScope = "The access token provided does not have access to the required scope."
)

// serveEndpoint runs one call of ep: records it, applies injected failures
// and delays, then answers.
func (s *Server) serveEndpoint(ep Endpoint, w http.ResponseWriter, r *http.Request, rid string) {
	call := s.startCall(ep, r, rid)
	rw := &responseWriter{ResponseWriter: w}
	defer func() { s.endCall(call, rw.status, getHeader(w.Header(), requestIDHeader)) }()

	f, delay := s.takeFailure(ep)
	rw.extra = f.Header
	if !s.wait(r, delay+f.Delay, f.Hang) {
		// The client went away or the server is closing: send nothing at
		// all (returning would send an empty 200) and drop the connection.
		panic(http.ErrAbortHandler)
	}
	if f.Status != 0 || f.Body != "" {
		writeFailure(rw, f, rid)
		return
	}
	switch ep {
	case EndpointAuthorize:
		s.authorize(rw, r, rid)
		return
	case EndpointToken:
		s.token(rw, r, rid, call)
		return
	case EndpointCodePair:
		s.codePair(rw, r, rid, call)
		return
	case EndpointCodeEntry:
		s.codeEntry(rw, r, rid)
		return
	}
	if r.Method != http.MethodGet {
		rw.Header().Set("Allow", http.MethodGet)
		writeError(rw, http.StatusMethodNotAllowed, "invalid_request", "The request method "+r.Method+" is not allowed; use GET.", rid)
		return
	}
	switch ep {
	case EndpointTokenInfo:
		s.tokenInfo(rw, r, rid)
	case EndpointProfile:
		s.profile(rw, r, rid)
	}
}

// tokenInfoJSON is tokeninfo's success body, fields in Amazon's order.
type tokenInfoJSON struct {
	Iss    string `json:"iss"`
	UserID string `json:"user_id"`
	Aud    string `json:"aud"`
	AppID  string `json:"app_id"`
	Exp    int64  `json:"exp"`
	Iat    int64  `json:"iat"`
}

// tokenInfo answers GET /auth/o2/tokeninfo?access_token=<t>. The token is
// taken from the query only.
func (s *Server) tokenInfo(w http.ResponseWriter, r *http.Request, rid string) {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", descMissingToken, rid)
		return
	}
	g, exp, ok := s.valid(tok)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_token", descInvalidToken, rid)
		return
	}
	writeJSON(w, http.StatusOK, "application/json", tokenInfoJSON{
		Iss:    issuer,
		UserID: g.profile.UserID,
		Aud:    g.clientID,
		AppID:  g.appID,
		Exp:    exp,
		Iat:    g.issuedAt.Unix(),
	})
}

// profileJSON is the profile endpoint's success body: only the fields the
// scopes allow and that are not empty.
type profileJSON struct {
	UserID     string `json:"user_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// profile answers GET /user/profile, the token in the Authorization header
// (Bearer, any case), the x-amz-access-token header or the access_token query
// parameter.
func (s *Server) profile(w http.ResponseWriter, r *http.Request, rid string) {
	tok, ok := profileToken(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request", descMalformed, rid)
		return
	}
	if tok == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", descMissingToken, rid)
		return
	}
	g, _, ok := s.valid(tok)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_token", descInvalidToken, rid)
		return
	}
	var body profileJSON
	switch {
	case g.hasScope("profile"):
		body.UserID, body.Email, body.Name = g.profile.UserID, g.profile.Email, g.profile.Name
	case g.hasScope("profile:user_id"):
		body.UserID = g.profile.UserID
	default:
		writeError(w, http.StatusUnauthorized, "insufficient_scope", descInsufficientScope, rid)
		return
	}
	if g.hasScope("postal_code") {
		body.PostalCode = g.profile.PostalCode
	}
	w.Header().Set("Content-Language", "en-US")
	writeJSON(w, http.StatusOK, "application/json", body)
}

// profileToken finds the profile call's token. It returns "" and true when
// the request carries none (empty values count as none), and false when the
// request is malformed: an Authorization header that is not "Bearer <token>",
// a header given more than once, or two places carrying different tokens.
func profileToken(r *http.Request) (string, bool) {
	found := r.URL.Query()["access_token"]
	switch auth := r.Header.Values("Authorization"); len(auth) {
	case 0:
	case 1:
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth[0]), " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
			return "", false
		}
		found = append(found, tok)
	default:
		return "", false
	}
	switch h := r.Header.Values("X-Amz-Access-Token"); len(h) {
	case 0:
	case 1:
		found = append(found, strings.TrimSpace(h[0]))
	default:
		return "", false
	}
	tok := ""
	for _, t := range found {
		switch {
		case t == "":
		case tok == "":
			tok = t
		case t != tok:
			return "", false
		}
	}
	return tok, true
}

// errorJSON is the body of every error answer.
type errorJSON struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	RequestID        string `json:"request_id,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, desc, rid string) {
	writeJSON(w, status, errorCT, errorJSON{Error: code, ErrorDescription: desc, RequestID: rid})
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("lwatest: " + err.Error()) // cannot happen with the types above
	}
	setHeader(w.Header(), "Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// setHeader sets header name to value, replacing any key that differs only
// in case, so that a name can be sent with a non-canonical spelling.
func setHeader(h http.Header, name string, values ...string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
	if len(values) > 0 {
		h[name] = values
	}
}

// getHeader returns the first value of header name, whatever the case of
// its key.
func getHeader(h http.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// responseWriter records the status and applies a Failure's extra headers
// just before the header is written.
type responseWriter struct {
	http.ResponseWriter
	extra  http.Header
	status int
}

func (w *responseWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	for k, v := range w.extra {
		setHeader(w.Header(), k, v...)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
