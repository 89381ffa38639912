package core_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// randomToken returns prefix and 400 random base64url characters: shaped
// like an LWA token, and distinctive enough that any 8 bytes of it found in
// a log line are a leak.
func randomToken(prefix string) string {
	b := make([]byte, 300)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// withBadByte returns a random token with bad spliced into its middle.
func withBadByte(bad string) string {
	t := randomToken("Atza|")
	return t[:200] + bad + t[200:]
}

// tableRow is one situation of the error table.
type tableRow struct {
	name     string
	opts     func(t testing.TB) []core.Option
	setup    func(t testing.TB, srv *lwatest.Server) rowInput
	status   int
	code     string
	sentinel error
	// decided: Amazon's answer from decidedBy decided the rejection, so the
	// error carries that answer's x-amzn-RequestId.
	decided     bool
	decidedBy   lwatest.Endpoint
	noUpstream  bool // rejected before any upstream call
	requestOnly bool // the situation exists only for requests, not for Verify
}

// rowInput is what one row sends.
type rowInput struct {
	token   string        // given to Verify
	req     *core.Request // given to Authenticate; default: token as a Bearer header
	secrets []string      // what must never leak; default: token
}

func issued(opts ...lwatest.TokenOption) func(testing.TB, *lwatest.Server) rowInput {
	return func(_ testing.TB, srv *lwatest.Server) rowInput {
		return rowInput{token: srv.Issue(clientID, alice, opts...)}
	}
}

func malformedRow(name, bad string) tableRow {
	return tableRow{
		name: name,
		setup: func(testing.TB, *lwatest.Server) rowInput {
			tok := withBadByte(bad)
			return rowInput{token: tok, req: amzRequest(tok)}
		},
		status: 400, code: core.CodeInvalidRequest, sentinel: core.ErrMalformedToken, noUpstream: true,
	}
}

// errorTable lists every row of DESIGN.md's error table, several situations
// per row.
func errorTable() []tableRow {
	hang := func(ep lwatest.Endpoint) func(testing.TB, *lwatest.Server) rowInput {
		return func(_ testing.TB, srv *lwatest.Server) rowInput {
			srv.Fail(ep, lwatest.Failure{Hang: true})
			return rowInput{token: srv.Issue(clientID, alice)}
		}
	}
	failWith := func(ep lwatest.Endpoint, f lwatest.Failure, opts ...lwatest.TokenOption) func(testing.TB, *lwatest.Server) rowInput {
		return func(_ testing.TB, srv *lwatest.Server) rowInput {
			srv.Fail(ep, f)
			return rowInput{token: srv.Issue(clientID, alice, opts...)}
		}
	}
	short := func(testing.TB) []core.Option { return []core.Option{core.WithTimeout(150 * time.Millisecond)} }
	return []tableRow{
		// 400 invalid_request
		{
			name: "no token",
			setup: func(testing.TB, *lwatest.Server) rowInput {
				return rowInput{req: &core.Request{Method: http.MethodGet}}
			},
			status: 400, code: core.CodeInvalidRequest, sentinel: core.ErrMissingToken, noUpstream: true,
			requestOnly: true, // Verify("") has its own test: TestVerifyEmptyToken
		},
		{
			name: "two different tokens",
			setup: func(testing.TB, *lwatest.Server) rowInput {
				a, b := randomToken("Atza|"), randomToken("Atza|")
				return rowInput{
					req:     &core.Request{Method: http.MethodGet, Authorization: []string{"Bearer " + a}, AmzAccessToken: []string{b}},
					secrets: []string{a, b},
				}
			},
			status: 400, code: core.CodeInvalidRequest, sentinel: core.ErrMalformedToken, noUpstream: true,
			requestOnly: true,
		},
		{
			name: "oversized token",
			setup: func(testing.TB, *lwatest.Server) rowInput {
				tok := randomToken("Atza|")
				tok += randomToken("")
				tok += randomToken("")
				tok += randomToken("")
				tok += randomToken("")
				tok += randomToken("")
				tok = tok[:core.MaxTokenLen+1]
				return rowInput{token: tok}
			},
			status: 400, code: core.CodeInvalidRequest, sentinel: core.ErrMalformedToken, noUpstream: true,
		},
		malformedRow("token with a space", " "),
		malformedRow("token with a NUL", "\x00"),
		malformedRow("token with a tab", "\t"),
		malformedRow("token with a newline", "\n"),
		malformedRow("token with DEL", "\x7f"),
		malformedRow("token with 0x80", "\x80"),
		malformedRow("token with 0xff", "\xff"),
		malformedRow("token with UTF-8", "é"),

		// 400 invalid_token
		{
			name: "unknown token",
			setup: func(testing.TB, *lwatest.Server) rowInput {
				return rowInput{token: randomToken("Atza|")}
			},
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name: "revoked token",
			setup: func(_ testing.TB, srv *lwatest.Server) rowInput {
				tok := srv.Issue(clientID, alice)
				srv.Revoke(tok)
				return rowInput{token: tok}
			},
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name: "expired token",
			setup: func(_ testing.TB, srv *lwatest.Server) rowInput {
				tok := srv.Issue(clientID, alice)
				srv.Expire(tok)
				return rowInput{token: tok}
			},
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name: "token past its lifetime",
			setup: func(_ testing.TB, srv *lwatest.Server) rowInput {
				tok := srv.Issue(clientID, alice, lwatest.WithLifetime(time.Hour))
				srv.Advance(time.Hour + time.Second)
				return rowInput{token: tok}
			},
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name: "refresh token",
			setup: func(testing.TB, *lwatest.Server) rowInput {
				return rowInput{token: randomToken("Atzr|")}
			},
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, noUpstream: true,
		},
		{
			name:   "tokeninfo exp 0",
			setup:  failWith(lwatest.EndpointTokenInfo, lwatest.Failure{Body: tokenInfoBody(alice.UserID, clientID, 0)}),
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name:   "tokeninfo exp negative",
			setup:  failWith(lwatest.EndpointTokenInfo, lwatest.Failure{Body: tokenInfoBody(alice.UserID, clientID, -30)}),
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			// Not one of Amazon's documented answers: a 502, never cached.
			name: "profile of another customer",
			setup: failWith(lwatest.EndpointProfile, lwatest.Failure{Body: profileBody(core.Profile{
				UserID: "amzn1.account.MALLORY000000000000000000000", Name: "Mallory",
			})}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name:   "profile with an empty user_id",
			setup:  failWith(lwatest.EndpointProfile, lwatest.Failure{Body: `{"user_id":"","name":"Nobody"}`}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name:   "tokeninfo answers 401",
			setup:  failWith(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 401}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name:   "profile answers 400 with an undocumented code",
			setup:  failWith(lwatest.EndpointProfile, lwatest.Failure{Status: 400, Body: `{"error":"slow_down","error_description":"x"}`}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name:   "Amazon answers 400 invalid_request",
			setup:  failWith(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 400}),
			status: 400, code: core.CodeInvalidToken, sentinel: core.ErrInvalidToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},

		// 401 insufficient_scope
		{
			name:   "no profile scope granted",
			setup:  issued(lwatest.WithScopes()),
			status: 401, code: core.CodeInsufficientScope, sentinel: core.ErrInsufficientScope, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name:   "profile answers 401",
			setup:  failWith(lwatest.EndpointProfile, lwatest.Failure{Status: 401}),
			status: 401, code: core.CodeInsufficientScope, sentinel: core.ErrInsufficientScope, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name: "required email with profile:user_id",
			opts: func(testing.TB) []core.Option {
				return []core.Option{core.WithRequiredFields(core.FieldEmail)}
			},
			setup:  issued(lwatest.WithScopes("profile:user_id")),
			status: 401, code: core.CodeInsufficientScope, sentinel: core.ErrInsufficientScope, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name: "required postal code without its scope",
			opts: func(testing.TB) []core.Option {
				return []core.Option{core.WithRequiredFields(core.FieldName, core.FieldPostalCode)}
			},
			setup:  issued(lwatest.WithScopes("profile")),
			status: 401, code: core.CodeInsufficientScope, sentinel: core.ErrInsufficientScope, decided: true, decidedBy: lwatest.EndpointProfile,
		},

		// 404 not_found
		{
			name: "token of another app",
			setup: func(_ testing.TB, srv *lwatest.Server) rowInput {
				return rowInput{token: srv.Issue(otherClientID, alice)}
			},
			status: 404, code: core.CodeNotFound, sentinel: core.ErrNotOurToken, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},

		// 502 / 504 server_error
		{
			name:   "tokeninfo 500",
			setup:  failWith(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name:   "profile 503",
			setup:  failWith(lwatest.EndpointProfile, lwatest.Failure{Status: 503}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointProfile,
		},
		{
			name:   "tokeninfo answers HTML",
			setup:  failWith(lwatest.EndpointTokenInfo, lwatest.Failure{Body: "<html>oops</html>", ContentType: "text/html"}),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream, decided: true, decidedBy: lwatest.EndpointTokenInfo,
		},
		{
			name: "Amazon unreachable",
			opts: func(t testing.TB) []core.Option {
				return []core.Option{core.WithEndpoint(closedURL(t))}
			},
			setup:  issued(),
			status: 502, code: core.CodeServerError, sentinel: core.ErrUpstream,
		},
		{
			name:   "tokeninfo hangs",
			opts:   short,
			setup:  hang(lwatest.EndpointTokenInfo),
			status: 504, code: core.CodeServerError, sentinel: core.ErrUpstreamTimeout,
		},
		{
			name:   "profile hangs",
			opts:   short,
			setup:  hang(lwatest.EndpointProfile),
			status: 504, code: core.CodeServerError, sentinel: core.ErrUpstreamTimeout,
		},
	}
}

// runRow runs one row through Verify or Authenticate against a fresh fake
// server and verifier.
func runRow(t *testing.T, row tableRow, via string, logger *slog.Logger) (error, *lwatest.Server, rowInput) {
	t.Helper()
	srv := newServer(t)
	var opts []core.Option
	if row.opts != nil {
		opts = row.opts(t)
	}
	if logger != nil {
		opts = append(opts, core.WithLogger(logger))
	}
	v := newVerifier(t, srv, opts...)
	in := row.setup(t, srv)
	if in.req == nil {
		in.req = headerRequest(in.token)
	}
	if in.secrets == nil {
		in.secrets = []string{in.token}
	}
	ctx := context.Background()
	var err error
	switch via {
	case "Verify":
		var p core.Profile
		p, err = v.Verify(ctx, in.token)
		assert.Zero(t, p, "a rejection returns no profile")
	case "Authenticate":
		var (
			got context.Context
			p   *core.Profile
		)
		got, p, err = authenticate(v, ctx, in.req, core.Policy{})
		assert.Nil(t, p, "a rejection returns no profile")
		assert.Equal(t, ctx, got, "a rejection returns the request's own context")
		_, ok := core.FromContext(got)
		assert.False(t, ok)
	default:
		t.Fatalf("unknown path %q", via)
	}
	return err, srv, in
}

func TestErrorTable(t *testing.T) {
	for _, row := range errorTable() {
		vias := []string{"Verify", "Authenticate"}
		if row.requestOnly {
			vias = vias[1:]
		}
		for _, via := range vias {
			t.Run(row.name+"/"+via, func(t *testing.T) {
				err, srv, _ := runRow(t, row, via, nil)
				e := requireRejection(t, err, row.status, row.code, row.sentinel)
				assert.Contains(t, e.Error(), row.code)
				if row.decided {
					want := onlyCall(t, srv, row.decidedBy).RequestID
					require.NotEmpty(t, want, "lwatest sends an x-amzn-RequestId")
					assert.Equal(t, want, e.RequestID, "the request id of the answer that decided")
				} else {
					assert.Empty(t, e.RequestID, "no Amazon answer decided this rejection")
				}
				if row.noUpstream {
					assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo), "tokeninfo calls")
					assert.Zero(t, srv.CallCount(lwatest.EndpointProfile), "profile calls")
				}
			})
		}
	}
}

func TestVerifyValidToken(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	tok := srv.Issue(clientID, alice)

	p, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, alice, p)

	ctx, pp, err := authenticate(v, context.Background(), headerRequest(tok), core.Policy{})
	require.NoError(t, err)
	require.NotNil(t, pp)
	assert.Equal(t, alice, *pp)
	fromCtx, ok := core.FromContext(ctx)
	require.True(t, ok, "Authenticate puts the profile in the context")
	assert.Equal(t, alice, fromCtx)
}

func TestVerifyScopesFillProfile(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	for name, tc := range map[string]struct {
		scopes []string
		want   core.Profile
	}{
		"profile":                 {[]string{"profile"}, core.Profile{UserID: alice.UserID, Email: alice.Email, Name: alice.Name}},
		"profile:user_id":         {[]string{"profile:user_id"}, aliceUserIDOnly},
		"profile and postal_code": {[]string{"profile", "postal_code"}, alice},
		"user_id and postal_code": {[]string{"profile:user_id", "postal_code"}, core.Profile{UserID: alice.UserID, PostalCode: alice.PostalCode}},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), srv.Issue(clientID, alice, lwatest.WithScopes(tc.scopes...)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
		})
	}
}

// TestVerifyEmptyToken: an empty token is "no token" (400 invalid_request,
// ErrMissingToken), decided without asking Amazon, like every other token
// that cannot be an access token.
func TestVerifyEmptyToken(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	_, err := v.Verify(context.Background(), "")
	requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMissingToken)
	assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo), "tokeninfo calls")
	assert.Zero(t, srv.CallCount(lwatest.EndpointProfile), "profile calls")
}

func TestPrecheckLengthBoundary(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	long := randomToken("Atza|") + randomToken("") + randomToken("") + randomToken("") + randomToken("") + randomToken("")
	max := long[:core.MaxTokenLen]
	srv.Issue(clientID, alice, lwatest.WithToken(max))

	p, err := v.Verify(context.Background(), max)
	require.NoError(t, err, "a 2048-byte token is acceptable")
	assert.Equal(t, alice, p)
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo))

	srv.ResetCalls()
	tooLong := long[:core.MaxTokenLen+1]
	srv.Issue(clientID, alice, lwatest.WithToken(tooLong))
	_, err = v.Verify(context.Background(), tooLong)
	requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMalformedToken)
	_, err = v.Verify(context.Background(), long)
	requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMalformedToken)
	assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo))
	assert.Zero(t, srv.CallCount(lwatest.EndpointProfile))
}

// TestPrecheckEveryBadByte rejects, with no upstream call, a token that
// carries any one byte outside 0x21–0x7E at any position of the 8-byte
// word loop and of the tail, even when the fake would accept it.
func TestPrecheckEveryBadByte(t *testing.T) {
	srv := newServer(t)
	v := newVerifier(t, srv)
	base := "Atza|" + strings.Repeat("abcdefgh", 3) // 29 bytes: 3 words and a tail
	for c := 0; c < 256; c++ {
		if c >= 0x21 && c <= 0x7e {
			continue
		}
		for pos := 0; pos < len(base); pos += 3 {
			tok := base[:pos] + string([]byte{byte(c)}) + base[pos:]
			srv.Issue(clientID, alice, lwatest.WithToken(tok))
			_, err := v.Verify(context.Background(), tok)
			requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMalformedToken)
		}
	}
	assert.Zero(t, srv.CallCount(lwatest.EndpointTokenInfo))
	assert.Zero(t, srv.CallCount(lwatest.EndpointProfile))
}

// naivePrintable is the obvious definition Printable must agree with.
func naivePrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func TestPrintableTable(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"!", true},
		{"~", true},
		{"Atza|abc-_XYZ0129", true},
		{"!!!!!!!!", true},
		{"~~~~~~~~", true},
		{"!~!~!~!~!~!~!~!~!", true},
		{" ", false},
		{"\x20abcdefg", false},
		{"abcdefg\x20", false},
		{"abcdefgh\x20", false},
		{"\x00", false},
		{"abcdefg\x00", false},
		{"\x7f", false},
		{"abc\x7fefgh", false},
		{"abcdefgh\x7f", false},
		{"\x80", false},
		{"abcdefg\x80", false},
		{"\xff\xff\xff\xff\xff\xff\xff\xff", false},
		{"abcdefgh" + "é", false},
		{"ab\tcdefgh", false},
		{"\x21\x21\x21\x21\x21\x21\x21\x20", false},
		{"\x20\x21\x21\x21\x21\x21\x21\x21", false},
		{"\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7f", false},
		{"\x7f\x7e\x7e\x7e\x7e\x7e\x7e\x7e", false},
		{"\x22\x22\x22\x22\x22\x22\x22\x01", false},
		{"\x01\x22\x22\x22\x22\x22\x22\x22", false},
		{"\x21\x00\x7e\x7e\x7e\x7e\x7e\x7e", false},
	} {
		assert.Equal(t, tc.want, core.Printable(tc.in), "Printable(%q)", tc.in)
		assert.Equal(t, tc.want, naivePrintable(tc.in), "the table itself, %q", tc.in)
	}
}

func TestPrintableAgreesWithNaiveLoop(t *testing.T) {
	// Bytes near the boundaries are the interesting ones.
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x40, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0xa0, 0xfe, 0xff}
	rnd := make([]byte, 8)
	var buf []byte
	disagreements := 0
	for i := 0; i < 200_000; i++ {
		_, _ = rand.Read(rnd)
		n := int(rnd[0]) % 41
		buf = buf[:0]
		for j := 0; j < n; j++ {
			_, _ = rand.Read(rnd[1:3])
			switch rnd[1] % 4 {
			case 0:
				buf = append(buf, edges[int(rnd[2])%len(edges)])
			case 1:
				buf = append(buf, rnd[2])
			default: // mostly printable, so that long all-printable strings occur
				buf = append(buf, 0x21+rnd[2]%94)
			}
		}
		s := string(buf)
		if core.Printable(s) != naivePrintable(s) {
			disagreements++
			if disagreements < 10 {
				t.Errorf("Printable(%q) = %v, want %v", s, core.Printable(s), naivePrintable(s))
			}
		}
	}
	assert.Zero(t, disagreements)
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "Atza|abc", "!!!!!!!!~", "abcdefg\x7f", "\x80abcdefgh", "abcdefgh\x20", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := core.Printable(s), naivePrintable(s); got != want {
			t.Errorf("Printable(%q) = %v, want %v", s, got, want)
		}
	})
}
