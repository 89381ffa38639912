package core_test

// Fuzz targets. Their seed corpora live in testdata/fuzz/<FuzzName>/ and run
// in every `go test`; fuzz one target at a time with
//
//	go test -run '^$' -fuzz '^FuzzExtractToken$' -fuzztime 5m ./core/
//
// Every target asserts properties of the result, not only the absence of a
// panic. Helpers here are prefixed fz to stay clear of the other test files
// of package core_test.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// fzSentinels are the sentinel errors of the error table, one per row.
var fzSentinels = []error{
	core.ErrMissingToken, core.ErrMalformedToken, core.ErrInvalidToken,
	core.ErrInsufficientScope, core.ErrNotOurToken, core.ErrUpstream,
	core.ErrUpstreamTimeout,
}

// fzRow is the status and code of each sentinel's row of the error table.
var fzRow = map[error]struct {
	status int
	code   string
}{
	core.ErrMissingToken:      {400, core.CodeInvalidRequest},
	core.ErrMalformedToken:    {400, core.CodeInvalidRequest},
	core.ErrInvalidToken:      {400, core.CodeInvalidToken},
	core.ErrInsufficientScope: {401, core.CodeInsufficientScope},
	core.ErrNotOurToken:       {404, core.CodeNotFound},
	core.ErrUpstream:          {502, core.CodeServerError},
	core.ErrUpstreamTimeout:   {504, core.CodeServerError},
}

// fzCheckRejection asserts that err is a *core.Error that matches exactly one
// sentinel, whose status and code are that row's, and returns the sentinel.
func fzCheckRejection(t *testing.T, err error) (*core.Error, error) {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *core.Error", err, err)
	}
	var kind error
	for _, s := range fzSentinels {
		if errors.Is(err, s) {
			if kind != nil {
				t.Fatalf("error %v matches both %v and %v", err, kind, s)
			}
			kind = s
		}
	}
	if kind == nil {
		t.Fatalf("error %v matches no sentinel of the error table", err)
	}
	if row := fzRow[kind]; e.Status != row.status || e.Code != row.code {
		t.Fatalf("error %v (%v): status %d code %q, the table says %d %q", err, kind, e.Status, e.Code, row.status, row.code)
	}
	return e, kind
}

// fzDecode is the decoding a token undergoes: one level of percent-encoding
// is undone when there is any.
func fzDecode(v string) (string, bool) {
	if !strings.Contains(v, "%") {
		return v, true
	}
	d, err := url.PathUnescape(v)
	return d, err == nil
}

// fzPick returns, by n%4: no value, a, a and b, or b.
func fzPick(n uint8, a, b string) []string {
	switch n % 4 {
	case 0:
		return nil
	case 1:
		return []string{a}
	case 2:
		return []string{a, b}
	default:
		return []string{b}
	}
}

// fzExtract runs ExtractToken and returns the token, or "" and the sentinel.
func fzExtract(t *testing.T, s core.TokenSources) (string, error) {
	t.Helper()
	tok, err := core.ExtractToken(s)
	if err != nil {
		if tok != "" {
			t.Fatalf("ExtractToken returned a token with error %v", err)
		}
		_, kind := fzCheckRejection(t, err)
		if kind != core.ErrMissingToken && kind != core.ErrMalformedToken {
			t.Fatalf("ExtractToken failed with %v, want ErrMissingToken or ErrMalformedToken", kind)
		}
		return "", kind
	}
	if tok == "" {
		t.Fatalf("ExtractToken returned an empty token without error")
	}
	return tok, nil
}

// fzCheckExtract asserts the extraction rules of DESIGN.md over s.
func fzCheckExtract(t *testing.T, s core.TokenSources) {
	tok, kind := fzExtract(t, s)

	// Deterministic.
	if tok2, kind2 := fzExtract(t, s); tok2 != tok || kind2 != kind {
		t.Fatalf("ExtractToken is not deterministic: %q/%v then %q/%v", tok, kind, tok2, kind2)
	}
	// Where a value sits among the bare sources does not matter.
	swapped := core.TokenSources{Authorization: s.Authorization, AmzAccessToken: s.Query, Query: s.AmzAccessToken}
	if tok2, kind2 := fzExtract(t, swapped); tok2 != tok || kind2 != kind {
		t.Fatalf("ExtractToken depends on the order of the bare sources: %q/%v, swapped %q/%v", tok, kind, tok2, kind2)
	}

	// No token at all iff at most one Authorization header and every value
	// is blank.
	blank := len(s.Authorization) <= 1
	for _, v := range slices.Concat(s.Authorization, s.AmzAccessToken, s.Query) {
		if strings.TrimSpace(v) != "" {
			blank = false
		}
	}
	if (kind == core.ErrMissingToken) != blank {
		t.Fatalf("ExtractToken = %q, %v; but every value blank = %v", tok, kind, blank)
	}
	if len(s.Authorization) > 1 && kind != core.ErrMalformedToken {
		t.Fatalf("%d Authorization headers accepted: %q, %v", len(s.Authorization), tok, kind)
	}

	// The candidates: every non-blank bare value and the Bearer header's
	// token, each decoded once. The result is a token iff the header is
	// well formed and every candidate decodes to one same value, which is
	// the token.
	wellFormed := len(s.Authorization) <= 1
	var cands []string
	if len(s.Authorization) == 1 {
		if v := strings.TrimSpace(s.Authorization[0]); v != "" {
			if len(v) > len("Bearer ") && strings.EqualFold(v[:6], "Bearer") && v[6] == ' ' {
				rest := strings.TrimSpace(v[7:])
				if rest == "" || strings.ContainsAny(rest, " \t") {
					wellFormed = false
				}
				cands = append(cands, rest)
			} else {
				wellFormed = false
			}
		}
	}
	for _, v := range slices.Concat(s.AmzAccessToken, s.Query) {
		if v = strings.TrimSpace(v); v != "" {
			cands = append(cands, v)
		}
	}
	agreed := ""
	for _, c := range cands {
		d, ok := fzDecode(c)
		switch {
		case !ok:
			wellFormed = false
		case agreed == "":
			agreed = d
		case d != agreed:
			wellFormed = false
		}
	}
	if agreed == "" {
		wellFormed = false // no candidate: blank, or a malformed header alone
	}
	switch {
	case blank:
	case wellFormed:
		if tok != agreed {
			t.Fatalf("ExtractToken = %q, %v; want the one token %q", tok, kind, agreed)
		}
	default:
		if kind != core.ErrMalformedToken {
			t.Fatalf("ExtractToken = %q, %v; want ErrMalformedToken", tok, kind)
		}
	}
	// A token that needed no decoding comes back exactly as sent. (One
	// that did may still hold a '%': "%2525" decodes once to "%25".)
	if tok != "" && !strings.Contains(strings.Join(cands, ""), "%") && !slices.Contains(cands, tok) {
		t.Fatalf("ExtractToken = %q, not one of the values sent %q", tok, cands)
	}
}

// FuzzExtractToken checks ExtractToken over up to two values of each source.
// mask picks how many values each source carries (two bits per source).
func FuzzExtractToken(f *testing.F) {
	f.Add(uint8(0x01), "Bearer Atza|abc", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, mask uint8, a0, a1, x0, x1, q0, q1 string) {
		s := core.TokenSources{
			Authorization:  fzPick(mask, a0, a1),
			AmzAccessToken: fzPick(mask>>2, x0, x1),
			Query:          fzPick(mask>>4, q0, q1),
		}
		fzCheckExtract(t, s)
	})
}

// FuzzTokenFromRequest checks TokenFromRequest over raw query strings (and an
// optional header), against the query as net/url parses it for the routers
// of net/http, Gin and Echo.
func FuzzTokenFromRequest(f *testing.F) {
	f.Add("access_token=Atza%7Cabc", "", uint8(0))
	f.Fuzz(func(t *testing.T, rawQuery, header string, mask uint8) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}}
		switch mask % 3 {
		case 1:
			r.Header[core.HeaderAuthorization] = []string{header}
		case 2:
			r.Header[http.CanonicalHeaderKey(core.HeaderAmzAccessToken)] = []string{header}
		}
		tok, kind := fzExtract(t, core.SourcesFromRequest(r))
		if tok2, err := core.TokenFromRequest(r); tok2 != tok || (err == nil) != (kind == nil) {
			t.Fatalf("TokenFromRequest = %q, %v; ExtractToken(SourcesFromRequest) = %q, %v", tok2, err, tok, kind)
		}
		if tok2, kind2 := fzExtract(t, core.SourcesFromRequest(r)); tok2 != tok || kind2 != kind {
			t.Fatalf("not deterministic: %q/%v then %q/%v", tok, kind, tok2, kind2)
		}

		// Every access_token value net/url sees, core sees too: a request
		// whose router sees a token never passes as one without a token.
		netVals, _ := url.ParseQuery(rawQuery) // the valid pairs, as routers see them
		src := core.SourcesFromRequest(r)
		for _, v := range netVals[core.QueryAccessToken] {
			if strings.TrimSpace(v) == "" {
				continue
			}
			if kind == core.ErrMissingToken {
				t.Fatalf("query %q: net/url sees access_token=%q, TokenFromRequest says no token (core saw %q)", rawQuery, v, src.Query)
			}
			if !slices.Contains(src.Query, v) {
				t.Fatalf("query %q: net/url sees access_token=%q, core's query values are %q", rawQuery, v, src.Query)
			}
		}
		// Without a header, a token comes from a value net/url also sees,
		// decoded once more (net/url drops every pair that holds a ';',
		// where core reads the value: a token with a ';' is no LWA token
		// and Amazon turns it down).
		if mask%3 == 0 && kind == nil && !strings.Contains(rawQuery, ";") {
			found := false
			for _, v := range netVals[core.QueryAccessToken] {
				if d, ok := fzDecode(strings.TrimSpace(v)); ok && d == tok {
					found = true
				}
			}
			if !found {
				t.Fatalf("query %q: token %q is none of net/url's access_token values %q", rawQuery, tok, netVals[core.QueryAccessToken])
			}
		}
		fzCheckExtract(t, src)
	})
}

// fz client IDs and token for FuzzUpstreamAnswer.
const (
	fzOurs   = "amzn1.application-oa2-client.ours"
	fzOurs2  = "amzn1.application-oa2-client.device"
	fzTheirs = "amzn1.application-oa2-client.theirs"
	fzToken  = "Atza|IwEBIFuzzToken-0123456789_abcdefghijklmnopqrstuvwxyz|ABCDEFGHIJKLMNOP"
)

// fzMember is one top-level member of a JSON object.
type fzMember struct {
	name  string
	value json.RawMessage
}

// fzMembers returns the top-level members of a JSON object, in order,
// duplicates included, or false when body is not exactly one JSON object.
func fzMembers(body []byte) ([]fzMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var ms []fzMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = append(ms, fzMember{name, v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return ms, true
}

// fzOnly returns the value of the one member named exactly name, when no
// other member's name is name or a case variant of it (which Go's decoder
// would also take for it).
func fzOnly(ms []fzMember, name string) (json.RawMessage, bool) {
	var v json.RawMessage
	n := 0
	for _, m := range ms {
		if strings.EqualFold(m.name, name) { // Unicode simple folding, like encoding/json's
			if m.name != name {
				return nil, false
			}
			v, n = m.value, n+1
		}
	}
	return v, n == 1
}

// fzString decodes a JSON string member.
func fzString(v json.RawMessage) (string, bool) {
	var s string
	return s, v != nil && json.Unmarshal(v, &s) == nil
}

// fzTokenInfo is tokeninfo's documented answer.
type fzTokenInfo struct {
	Iss    string  `json:"iss"`
	UserID *string `json:"user_id"`
	Aud    *string `json:"aud"`
	AppID  string  `json:"app_id"`
	Exp    *int64  `json:"exp"`
	Iat    int64   `json:"iat"`
}

// fzForeignAudience reports whether ti is a usable, documented, unexpired
// tokeninfo answer for a token of another app, and that app's client ID.
func fzForeignAudience(ti core.FakeAnswer, ids []string) (string, bool) {
	if !fzUsable(ti) {
		return "", false
	}
	ms, ok := fzMembers(ti.Body)
	if !ok {
		return "", false
	}
	// Members spelled in another case or given twice make the answer
	// ambiguous; the verifier may reject it as undocumented instead.
	for _, name := range []string{"iss", "user_id", "aud", "app_id", "exp", "iat"} {
		for _, m := range ms {
			if strings.EqualFold(m.name, name) {
				if _, ok := fzOnly(ms, name); !ok {
					return "", false
				}
			}
		}
	}
	var info fzTokenInfo
	if json.Unmarshal(ti.Body, &info) != nil || info.Aud == nil || info.UserID == nil || *info.UserID == "" || info.Exp == nil || *info.Exp <= 0 {
		return "", false
	}
	return *info.Aud, !slices.Contains(ids, *info.Aud)
}

// fzUsable reports whether an upstream answer can be read as a success.
func fzUsable(a core.FakeAnswer) bool {
	mt, _, err := mime.ParseMediaType(a.ContentType)
	return a.Status == 200 && err == nil && mt == "application/json" && utf8.Valid(a.Body) && len(a.Body) <= 64<<10
}

// fzStatus maps a fuzzed number to an HTTP status between 100 and 999.
func fzStatus(n uint16) int {
	return 100 + int(n)%900
}

// FuzzUpstreamAnswer feeds arbitrary tokeninfo and profile answers (status,
// Content-Type, x-amzn-RequestId, body) to the verifier's real decision
// (core.Decide, see export_fuzz_test.go). cfg picks the configuration: bit 0
// adds a second client ID, bits 1-3 require email, name and postal code,
// bit 4 sets a 30 s cache TTL instead of the default.
func FuzzUpstreamAnswer(f *testing.F) {
	f.Add(uint16(100), "application/json", "rid-1",
		[]byte(`{"iss":"https://www.amazon.com","user_id":"amzn1.account.A","aud":"`+fzOurs+`","app_id":"amzn1.application.x","exp":3600,"iat":1446510240}`),
		uint16(100), "application/json", "rid-2",
		[]byte(`{"user_id":"amzn1.account.A","email":"a@example.com","name":"A","postal_code":"98101"}`), uint8(0))
	f.Fuzz(func(t *testing.T, tiStatus uint16, tiCT, tiRID string, tiBody []byte,
		prStatus uint16, prCT, prRID string, prBody []byte, cfg uint8) {
		ti := core.FakeAnswer{Status: fzStatus(tiStatus), ContentType: tiCT, RequestID: tiRID, Body: tiBody}
		pr := core.FakeAnswer{Status: fzStatus(prStatus), ContentType: prCT, RequestID: prRID, Body: prBody}
		ids := []string{fzOurs}
		if cfg&1 != 0 {
			ids = append(ids, fzOurs2)
		}
		var required []string
		for i, fld := range []string{core.FieldEmail, core.FieldName, core.FieldPostalCode} {
			if cfg&(2<<i) != 0 {
				required = append(required, fld)
			}
		}
		cacheTTL := core.DefaultCacheTTL
		if cfg&16 != 0 {
			cacheTTL = 30 * time.Second
		}
		opts := []core.Option{core.WithClientID(ids...), core.WithRequiredFields(required...), core.WithCacheTTL(cacheTTL), core.WithTimeout(5 * time.Second)}

		p, ttl, reqs, err := core.Decide(opts, fzToken, ti, pr)

		// The calls: the token travels URL-encoded in tokeninfo's query and
		// in the profile call's Authorization header, never in its URL.
		if len(reqs) == 0 || len(reqs) > 2 {
			t.Fatalf("%d upstream requests", len(reqs))
		}
		for _, r := range reqs {
			switch r.Path {
			case "/auth/o2/tokeninfo":
				if r.RawQuery != "access_token="+url.QueryEscape(fzToken) || r.Authorization != "" {
					t.Fatalf("tokeninfo request: query %q, Authorization %q", r.RawQuery, r.Authorization)
				}
			case "/user/profile":
				if r.RawQuery != "" || r.Authorization != "bearer "+fzToken {
					t.Fatalf("profile request: query %q, Authorization %q", r.RawQuery, r.Authorization)
				}
			default:
				t.Fatalf("request to %q", r.Path)
			}
		}

		if err != nil {
			e, kind := fzCheckRejection(t, err)
			if kind == core.ErrMissingToken || kind == core.ErrMalformedToken {
				t.Fatalf("an upstream answer gave %v", kind)
			}
			if p != (core.Profile{}) || ttl != 0 {
				t.Fatalf("rejection %v with profile %+v, ttl %v", err, p, ttl)
			}
			if strings.Contains(err.Error(), fzToken) || strings.Contains(err.Error(), url.QueryEscape(fzToken)) {
				t.Fatalf("error string carries the token: %q", err.Error())
			}
			if e.RequestID != "" && e.RequestID != tiRID && e.RequestID != prRID {
				t.Fatalf("request id %q is neither answer's (%q, %q)", e.RequestID, tiRID, prRID)
			}
			if len(e.RequestID) > 128 || strings.ContainsFunc(e.RequestID, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r))
			}) {
				t.Fatalf("request id %q reflected unfiltered", e.RequestID)
			}
			// A usable tokeninfo answer that names another app is a 404,
			// whatever the profile says: the audience is checked first.
			if aud, ok := fzForeignAudience(ti, ids); ok && kind != core.ErrNotOurToken {
				t.Fatalf("tokeninfo names another app (%q) but the rejection is %v, want ErrNotOurToken: %s", aud, err, ti.Body)
			}
			return
		}

		// Success: both answers were documented 200 JSON, the audience is
		// one of ours, the profile belongs to tokeninfo's user.
		if !fzUsable(ti) || !fzUsable(pr) {
			t.Fatalf("accepted an unusable answer: tokeninfo %d %q, profile %d %q", ti.Status, ti.ContentType, pr.Status, pr.ContentType)
		}
		tim, ok := fzMembers(ti.Body)
		if !ok {
			t.Fatalf("accepted a tokeninfo body that is not one JSON object: %q", ti.Body)
		}
		audV, ok := fzOnly(tim, "aud")
		aud, isStr := fzString(audV)
		if !ok || !isStr || !slices.Contains(ids, aud) {
			t.Fatalf("accepted a tokeninfo answer whose audience is not exactly one of %q: %s", ids, ti.Body)
		}
		uidV, ok := fzOnly(tim, "user_id")
		uid, isStr := fzString(uidV)
		if !ok || !isStr || uid == "" {
			t.Fatalf("accepted a tokeninfo answer without one non-empty user_id: %s", ti.Body)
		}
		expV, ok := fzOnly(tim, "exp")
		var exp int64
		if !ok || json.Unmarshal(expV, &exp) != nil || exp <= 0 {
			t.Fatalf("accepted a tokeninfo answer without one positive exp: %s", ti.Body)
		}
		prm, ok := fzMembers(pr.Body)
		if !ok {
			t.Fatalf("accepted a profile body that is not one JSON object: %q", pr.Body)
		}
		puidV, ok := fzOnly(prm, "user_id")
		if puid, isStr := fzString(puidV); !ok || !isStr || puid != uid {
			t.Fatalf("accepted a profile of another user: tokeninfo %s, profile %s", ti.Body, pr.Body)
		}
		if p.UserID != uid {
			t.Fatalf("profile user %q, tokeninfo says %q", p.UserID, uid)
		}
		for _, fld := range required {
			v := map[string]string{core.FieldEmail: p.Email, core.FieldName: p.Name, core.FieldPostalCode: p.PostalCode}[fld]
			if v == "" {
				t.Fatalf("accepted a profile without the required field %s: %s", fld, pr.Body)
			}
		}
		// Cached for min(CacheTTL, exp), never longer.
		if ttl > cacheTTL {
			t.Fatalf("ttl %v beyond the cache TTL %v", ttl, cacheTTL)
		}
		if exp < 1<<32 {
			if want := min(cacheTTL, time.Duration(exp)*time.Second); ttl != want {
				t.Fatalf("ttl %v, want min(%v, exp %ds) = %v", ttl, cacheTTL, exp, want)
			}
		}
	})
}

// fzSanitize is what a quoted-string can carry of s: bytes other than HTAB
// and 0x20-0x7E become '?'.
func fzSanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c != '\t' && (c < 0x20 || c > 0x7e) {
			b[i] = '?'
		}
	}
	return string(b)
}

// fzJSONString is what encoding/json makes of s: each byte of an invalid
// UTF-8 sequence becomes U+FFFD.
func fzJSONString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// fzValidFieldValue reports whether v is a valid HTTP field value (RFC 9110,
// section 5.5): VCHAR, obs-text, SP and HTAB, no leading or trailing
// whitespace.
func fzValidFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\t' && c != ' ' && (c < 0x21 || c == 0x7f) {
			return false
		}
	}
	return v == strings.Trim(v, " \t")
}

// fzIsTchar reports whether c is an RFC 9110 tchar.
func fzIsTchar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// fzParseChallenge parses one RFC 9110 challenge whose parameters are all
// quoted-strings: scheme 1*SP param *( OWS "," OWS param ), param = token
// BWS "=" BWS quoted-string. It returns the scheme and the unescaped
// parameters in order, or an error naming what is wrong.
func fzParseChallenge(h string) (string, [][2]string, error) {
	i := 0
	for i < len(h) && fzIsTchar(h[i]) {
		i++
	}
	scheme := h[:i]
	if scheme == "" {
		return "", nil, errors.New("no auth-scheme")
	}
	if i == len(h) {
		return scheme, nil, nil
	}
	if h[i] != ' ' {
		return "", nil, fmt.Errorf("byte %q after the scheme", h[i])
	}
	for i < len(h) && h[i] == ' ' {
		i++
	}
	ows := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
	}
	var params [][2]string
	for {
		j := i
		for i < len(h) && fzIsTchar(h[i]) {
			i++
		}
		name := h[j:i]
		if name == "" {
			return "", nil, fmt.Errorf("no parameter name at %d", i)
		}
		ows()
		if i == len(h) || h[i] != '=' {
			return "", nil, fmt.Errorf("no '=' after %q", name)
		}
		i++
		ows()
		if i == len(h) || h[i] != '"' {
			return "", nil, fmt.Errorf("parameter %q is not a quoted-string", name)
		}
		i++
		var val strings.Builder
		closed := false
		for i < len(h) && !closed {
			c := h[i]
			switch {
			case c == '"':
				closed = true
			case c == '\\':
				if i+1 == len(h) {
					return "", nil, errors.New("backslash at the end")
				}
				q := h[i+1]
				if !(q == '\t' || q == ' ' || q >= 0x21 && q != 0x7f) {
					return "", nil, fmt.Errorf("quoted-pair of %q", q)
				}
				val.WriteByte(q)
				i++
			case c == '\t' || c == ' ' || c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e || c >= 0x80:
				val.WriteByte(c)
			default:
				return "", nil, fmt.Errorf("byte %q in a quoted-string", c)
			}
			i++
		}
		if !closed {
			return "", nil, errors.New("unterminated quoted-string")
		}
		params = append(params, [2]string{name, val.String()})
		ows()
		if i == len(h) {
			return scheme, params, nil
		}
		if h[i] != ',' {
			return "", nil, fmt.Errorf("byte %q after parameter %q", h[i], name)
		}
		i++
		ows()
	}
}

// FuzzErrorWriter checks the rejection a client receives for arbitrary
// Code, Description and RequestID: the WWW-Authenticate header is a valid
// RFC 9110 challenge that parses back to the (sanitised) values, and the
// body is valid JSON that round-trips.
func FuzzErrorWriter(f *testing.F) {
	f.Add(uint16(0), core.CodeInvalidToken, "the access token is expired", "")
	f.Fuzz(func(t *testing.T, status uint16, code, desc, rid string) {
		e := &core.Error{Status: 400 + int(status)%200, Code: code, Description: desc, RequestID: rid}

		// WWW-Authenticate.
		h := e.WWWAuthenticate()
		if e.Status != 400 && e.Status != 401 {
			if h != "" {
				t.Fatalf("status %d: WWW-Authenticate %q, want none", e.Status, h)
			}
		} else {
			if !fzValidFieldValue(h) {
				t.Fatalf("WWW-Authenticate %q is not a valid field value", h)
			}
			scheme, params, err := fzParseChallenge(h)
			if err != nil {
				t.Fatalf("WWW-Authenticate %q: %v", h, err)
			}
			want := [][2]string{{"error", fzSanitize(code)}}
			if desc != "" {
				want = append(want, [2]string{"error_description", fzSanitize(desc)})
			}
			if scheme != "Bearer" || !slices.Equal(params, want) {
				t.Fatalf("WWW-Authenticate %q parses to %q %q, want Bearer %q", h, scheme, params, want)
			}
		}

		// The JSON body.
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if !json.Valid(b) || !bytes.Equal(b, e.Body()) {
			t.Fatalf("body %q is not valid JSON or differs from Body() %q", b, e.Body())
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("body %q: %v", b, err)
		}
		want := map[string]any{"error": fzJSONString(code), "error_description": fzJSONString(desc)}
		if rid != "" {
			want["request_id"] = fzJSONString(rid)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
			t.Fatalf("body %q decodes to %q, want %q", b, got, want)
		}
		// Through json.Marshal of the value too (Echo's way).
		if b2, err := json.Marshal(e); err != nil || !bytes.Equal(b2, b) {
			t.Fatalf("json.Marshal(e) = %q, %v; want %q", b2, err, b)
		}

		// WriteError writes the same parts.
		w := httptest.NewRecorder()
		core.WriteError(w, e)
		res := w.Result()
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != e.Status || !bytes.Equal(body, b) {
			t.Fatalf("WriteError: %d %q, want %d %q", res.StatusCode, body, e.Status, b)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("WriteError: Content-Type %q", ct)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("WriteError: Cache-Control %q", cc)
		}
		if got := res.Header.Values("WWW-Authenticate"); (h == "" && len(got) != 0) || (h != "" && !slices.Equal(got, []string{h})) {
			t.Fatalf("WriteError: WWW-Authenticate %q, want %q", got, h)
		}
		for k, vs := range res.Header {
			for _, v := range vs {
				if !fzValidFieldValue(v) {
					t.Fatalf("WriteError: header %s: %q is not a valid field value", k, v)
				}
			}
		}
	})
}

// TestTokenInfoAmbiguousAudience: a tokeninfo answer that names the
// audience twice, or in another case, is not the documented JSON, and must
// not pass as ours because encoding/json matches member names
// case-insensitively and keeps the last duplicate. (Found by
// FuzzUpstreamAnswer: seeds seed-aud-duplicate and seed-aud-case.)
func TestTokenInfoAmbiguousAudience(t *testing.T) {
	for name, body := range map[string]string{
		"duplicate":    `{"iss":"https://www.amazon.com","user_id":"amzn1.account.AMBIG","aud":"` + fzTheirs + `","aud":"` + fzOurs + `","app_id":"amzn1.application.x","exp":3600,"iat":1446510240}`,
		"case variant": `{"iss":"https://www.amazon.com","user_id":"amzn1.account.AMBIG","aud":"` + fzTheirs + `","AUD":"` + fzOurs + `","app_id":"amzn1.application.x","exp":3600,"iat":1446510240}`,
		"case only":    `{"iss":"https://www.amazon.com","user_id":"amzn1.account.AMBIG","Aud":"` + fzOurs + `","app_id":"amzn1.application.x","exp":3600,"iat":1446510240}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := lwatest.NewServer()
			t.Cleanup(srv.Close)
			tok := srv.Issue(fzTheirs, core.Profile{UserID: "amzn1.account.AMBIG"})
			srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Body: body})
			v, err := core.NewVerifier(core.WithClientID(fzOurs), core.WithEndpoint(srv.URL), core.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { v.Close() })
			p, err := v.Verify(context.Background(), tok)
			if err == nil {
				t.Fatalf("accepted %+v from the ambiguous tokeninfo answer %s", p, body)
			}
			if _, kind := fzCheckRejection(t, err); kind != core.ErrUpstream {
				t.Fatalf("rejection %v, want ErrUpstream (502: not the documented JSON)", err)
			}
		})
	}
}
