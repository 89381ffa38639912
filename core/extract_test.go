package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

const (
	tokA = "Atza|IwEBIAbc-_123"
	tokB = "Atza|IwEBIXyz-_789"
)

func TestExtractToken(t *testing.T) {
	type src = core.TokenSources
	for _, tc := range []struct {
		name    string
		in      src
		want    string
		wantErr error // ErrMissingToken or ErrMalformedToken
	}{
		// No token.
		{name: "nothing", in: src{}, wantErr: core.ErrMissingToken},
		{name: "empty slices", in: src{Authorization: []string{}, AmzAccessToken: []string{}, Query: []string{}}, wantErr: core.ErrMissingToken},
		{name: "empty values are absent", in: src{Authorization: []string{""}, AmzAccessToken: []string{""}, Query: []string{""}}, wantErr: core.ErrMissingToken},
		{name: "blank values are absent", in: src{Authorization: []string{"  \t "}, AmzAccessToken: []string{" "}, Query: []string{"\t"}}, wantErr: core.ErrMissingToken},

		// Authorization.
		{name: "Bearer", in: src{Authorization: []string{"Bearer " + tokA}}, want: tokA},
		{name: "bearer lower case", in: src{Authorization: []string{"bearer " + tokA}}, want: tokA},
		{name: "BEARER upper case", in: src{Authorization: []string{"BEARER " + tokA}}, want: tokA},
		{name: "BeArEr mixed case", in: src{Authorization: []string{"BeArEr " + tokA}}, want: tokA},
		{name: "extra spaces", in: src{Authorization: []string{"  Bearer     " + tokA + "   "}}, want: tokA},
		{name: "spaces and tabs around the token", in: src{Authorization: []string{"\tBearer \t " + tokA + " \t"}}, want: tokA},
		{name: "Bearer alone", in: src{Authorization: []string{"Bearer"}}, wantErr: core.ErrMalformedToken},
		{name: "Bearer and spaces", in: src{Authorization: []string{"Bearer    "}}, wantErr: core.ErrMalformedToken},
		{name: "Bearer and a tab", in: src{Authorization: []string{"Bearer \t"}}, wantErr: core.ErrMalformedToken},
		{name: "Bearer a b", in: src{Authorization: []string{"Bearer a b"}}, wantErr: core.ErrMalformedToken},
		{name: "Bearer a<tab>b", in: src{Authorization: []string{"Bearer a\tb"}}, wantErr: core.ErrMalformedToken},
		{name: "two tokens after Bearer", in: src{Authorization: []string{"Bearer " + tokA + " " + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "Basic scheme", in: src{Authorization: []string{"Basic dXNlcjpwYXNzd29yZA=="}}, wantErr: core.ErrMalformedToken},
		{name: "Digest scheme", in: src{Authorization: []string{`Digest username="a"`}}, wantErr: core.ErrMalformedToken},
		{name: "no scheme", in: src{Authorization: []string{tokA}}, wantErr: core.ErrMalformedToken},
		{name: "scheme glued to token", in: src{Authorization: []string{"Bearer" + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "Bearer prefix of another scheme", in: src{Authorization: []string{"Bearerx " + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "two Authorization headers", in: src{Authorization: []string{"Bearer " + tokA, "Bearer " + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "two Authorization headers, one empty", in: src{Authorization: []string{"", "Bearer " + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "two different Authorization headers", in: src{Authorization: []string{"Bearer " + tokA, "Bearer " + tokB}}, wantErr: core.ErrMalformedToken},

		// x-amz-access-token and query.
		{name: "x-amz-access-token", in: src{AmzAccessToken: []string{tokA}}, want: tokA},
		{name: "x-amz-access-token with spaces", in: src{AmzAccessToken: []string{"  " + tokA + "\t"}}, want: tokA},
		{name: "x-amz-access-token twice, same", in: src{AmzAccessToken: []string{tokA, tokA}}, want: tokA},
		{name: "x-amz-access-token twice, different", in: src{AmzAccessToken: []string{tokA, tokB}}, wantErr: core.ErrMalformedToken},
		{name: "query", in: src{Query: []string{tokA}}, want: tokA},
		{name: "query twice, same", in: src{Query: []string{tokA, tokA}}, want: tokA},
		{name: "query twice, different", in: src{Query: []string{tokA, tokB}}, wantErr: core.ErrMalformedToken},
		{name: "query, one empty", in: src{Query: []string{"", tokA}}, want: tokA},

		// Percent-encoding.
		{name: "encoded Bearer", in: src{Authorization: []string{"Bearer Atza%7CIwEBIAbc-_123"}}, want: tokA},
		{name: "encoded lower-case hex", in: src{Authorization: []string{"Bearer Atza%7cIwEBIAbc-_123"}}, want: tokA},
		{name: "encoded x-amz-access-token", in: src{AmzAccessToken: []string{"Atza%7CIwEBIAbc-_123"}}, want: tokA},
		{name: "encoded query", in: src{Query: []string{"Atza%7CIwEBIAbc-_123"}}, want: tokA},
		{name: "double-encoded decoded once, Bearer", in: src{Authorization: []string{"Bearer Atza%257CIwEB"}}, want: "Atza%7CIwEB"},
		{name: "double-encoded decoded once, x-amz", in: src{AmzAccessToken: []string{"Atza%257CIwEB"}}, want: "Atza%7CIwEB"},
		{name: "double-encoded decoded once, query", in: src{Query: []string{"Atza%257CIwEB"}}, want: "Atza%7CIwEB"},
		{name: "plus is not a space", in: src{AmzAccessToken: []string{"Atza%7Ca+b"}}, want: "Atza|a+b"},
		{name: "bad escape %zz", in: src{Authorization: []string{"Bearer Atza%zzIwEB"}}, wantErr: core.ErrMalformedToken},
		{name: "truncated escape %7", in: src{AmzAccessToken: []string{"Atza%7"}}, wantErr: core.ErrMalformedToken},
		{name: "lone percent", in: src{Query: []string{"Atza|%"}}, wantErr: core.ErrMalformedToken},
		{name: "bad escape next to a good token", in: src{Authorization: []string{"Bearer " + tokA}, Query: []string{"%G0"}}, wantErr: core.ErrMalformedToken},

		// Several sources.
		{name: "same token in all three", in: src{Authorization: []string{"Bearer " + tokA}, AmzAccessToken: []string{tokA}, Query: []string{tokA}}, want: tokA},
		{name: "same token, once encoded", in: src{Authorization: []string{"Bearer Atza%7CIwEBIAbc-_123"}, AmzAccessToken: []string{tokA}}, want: tokA},
		{name: "empty Authorization, token in x-amz", in: src{Authorization: []string{""}, AmzAccessToken: []string{tokA}}, want: tokA},
		{name: "different: Authorization and x-amz", in: src{Authorization: []string{"Bearer " + tokA}, AmzAccessToken: []string{tokB}}, wantErr: core.ErrMalformedToken},
		{name: "different: Authorization and query", in: src{Authorization: []string{"Bearer " + tokA}, Query: []string{tokB}}, wantErr: core.ErrMalformedToken},
		{name: "different: x-amz and query", in: src{AmzAccessToken: []string{tokA}, Query: []string{tokB}}, wantErr: core.ErrMalformedToken},
		{name: "bad Authorization beside a good x-amz", in: src{Authorization: []string{"Basic abc"}, AmzAccessToken: []string{tokA}}, wantErr: core.ErrMalformedToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := core.ExtractToken(tc.in)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			assert.Empty(t, got)
			requireRejection(t, err, 400, core.CodeInvalidRequest, tc.wantErr)
		})
	}
}

func TestExtractTokenErrorsNeverCarryTheToken(t *testing.T) {
	for _, in := range []core.TokenSources{
		{Authorization: []string{"Bearer " + tokA + " " + tokB}},
		{Authorization: []string{"Basic " + tokA}},
		{Authorization: []string{"Bearer " + tokA, "Bearer " + tokB}},
		{AmzAccessToken: []string{tokA}, Query: []string{tokB}},
		{AmzAccessToken: []string{tokA + "%zz"}},
	} {
		_, err := core.ExtractToken(in)
		require.Error(t, err)
		e := core.AsError(err)
		for _, text := range []string{err.Error(), e.Description, string(e.Body()), e.WWWAuthenticate()} {
			if sub, ok := leaks(text, tokA, tokB); ok {
				t.Errorf("%q leaks %q", text, sub)
			}
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		target  string
		header  http.Header
		want    string
		wantErr error
	}{
		{name: "nothing", target: "/", wantErr: core.ErrMissingToken},
		{name: "Authorization", target: "/", header: http.Header{"Authorization": {"Bearer " + tokA}}, want: tokA},
		{name: "lower-case bearer", target: "/", header: http.Header{"Authorization": {"bearer " + tokA}}, want: tokA},
		{name: "x-amz-access-token", target: "/", header: http.Header{"X-Amz-Access-Token": {tokA}}, want: tokA},
		{name: "two Authorization headers", target: "/", header: http.Header{"Authorization": {"Bearer " + tokA, "Bearer " + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "Basic", target: "/", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, wantErr: core.ErrMalformedToken},
		{name: "empty headers", target: "/", header: http.Header{"Authorization": {""}, "X-Amz-Access-Token": {""}}, wantErr: core.ErrMissingToken},
		{name: "query, encoded as it must be", target: "/?access_token=Atza%7CIwEBIAbc-_123", want: tokA},
		{name: "query, | left raw", target: "/?access_token=Atza|IwEBIAbc-_123", want: tokA},
		{name: "query among others", target: "/?a=1&access_token=Atza%7CIwEBIAbc-_123&b=2", want: tokA},
		{name: "query empty", target: "/?access_token=", wantErr: core.ErrMissingToken},
		{name: "query key without value", target: "/?access_token", wantErr: core.ErrMissingToken},
		{name: "access_token as another key's value", target: "/?q=access_token", wantErr: core.ErrMissingToken},
		{name: "similar key", target: "/?my_access_token=" + tokA, wantErr: core.ErrMissingToken},
		{name: "query twice, same", target: "/?access_token=Atza%7CIwEBIAbc-_123&access_token=Atza|IwEBIAbc-_123", want: tokA},
		{name: "query twice, different", target: "/?access_token=Atza%7CIwEBIAbc-_123&access_token=Atza%7CIwEBIXyz-_789", wantErr: core.ErrMalformedToken},
		{name: "query bad escape", target: "/?access_token=Atza%zzIwEB", wantErr: core.ErrMalformedToken},
		{name: "query with a space", target: "/?access_token=Atza+IwEB", want: "Atza IwEB"}, // rejected later by Verify's pre-check
		{name: "query double-encoded", target: "/?access_token=Atza%25257CIwEB", want: "Atza%7CIwEB"},
		{name: "header percent-encoded", target: "/", header: http.Header{"X-Amz-Access-Token": {"Atza%7CIwEBIAbc-_123"}}, want: tokA},
		{name: "header double-encoded decoded once", target: "/", header: http.Header{"Authorization": {"Bearer Atza%257CIwEB"}}, want: "Atza%7CIwEB"},
		{name: "same token in header and query", target: "/?access_token=Atza%7CIwEBIAbc-_123", header: http.Header{"Authorization": {"Bearer " + tokA}}, want: tokA},
		{name: "different tokens in header and query", target: "/?access_token=Atza%7CIwEBIXyz-_789", header: http.Header{"Authorization": {"Bearer " + tokA}}, wantErr: core.ErrMalformedToken},
		{name: "different tokens in the two headers", target: "/", header: http.Header{"Authorization": {"Bearer " + tokA}, "X-Amz-Access-Token": {tokB}}, wantErr: core.ErrMalformedToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			for k, v := range tc.header {
				r.Header[k] = v
			}
			got, err := core.TokenFromRequest(r)
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			assert.Empty(t, got)
			requireRejection(t, err, 400, core.CodeInvalidRequest, tc.wantErr)
		})
	}
}

// TestTokenFromRequestEncodedQueryKey: "access%5Ftoken" is the access_token
// parameter to every router (url.ParseQuery decodes keys), and queryValues
// decodes keys for that reason; SourcesFromRequest must not skip the query
// because the raw query does not spell "access_token" literally.
func TestTokenFromRequestEncodedQueryKey(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/?access%5Ftoken=Atza%7CIwEBIAbc-_123", nil)
	require.Equal(t, tokA, r.URL.Query().Get("access_token"), "what net/http itself reads")
	got, err := core.TokenFromRequest(r)
	require.NoError(t, err)
	assert.Equal(t, tokA, got)
}

func TestSourcesFromRequest(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/p?x=1&access_token=Atza%7Ca&access_token=b%zz&access_token=", nil)
	r.Header.Add("Authorization", "Bearer one")
	r.Header.Add("Authorization", "Bearer two")
	r.Header.Add("x-amz-access-token", "three") // canonicalised by Add
	s := core.SourcesFromRequest(r)
	assert.Equal(t, []string{"Bearer one", "Bearer two"}, s.Authorization)
	assert.Equal(t, []string{"three"}, s.AmzAccessToken)
	assert.Equal(t, []string{"Atza|a", "b%zz", ""}, s.Query, "decoded once; an invalid escape is kept raw")

	r = httptest.NewRequest(http.MethodGet, "/p?x=1", nil)
	r.Header.Set("Authorization", "Bearer one")
	s = core.SourcesFromRequest(r)
	assert.Empty(t, s.Query)
	assert.Empty(t, s.AmzAccessToken)
	assert.Equal(t, []string{"Bearer one"}, s.Authorization)
}

func TestRequestFromHTTP(t *testing.T) {
	r := httptest.NewRequest(http.MethodOptions, "/p?access_token=Atza%7Ca", nil)
	r.Header.Set("Access-Control-Request-Method", "POST")
	req := core.RequestFromHTTP(r)
	assert.Equal(t, http.MethodOptions, req.Method)
	assert.Equal(t, "POST", req.AccessControlRequestMethod)
	assert.Equal(t, []string{"Atza|a"}, req.Query)
	assert.True(t, req.IsPreflight())
}

// TestWithQueryTokenFalse: with the query source off, Authenticate ignores
// access_token entirely: a query-only request has no token, and a query
// token that differs from the header's is not a conflict.
func TestWithQueryTokenFalse(t *testing.T) {
	srv := newServer(t)
	tok := srv.Issue(clientID, alice)
	other := srv.Issue(clientID, core.Profile{UserID: "amzn1.account.BOB"})
	ctx := context.Background()

	off := newVerifier(t, srv, core.WithQueryToken(false))
	queryOnly := &core.Request{Method: http.MethodGet, Query: []string{tok}}
	_, p, err := authenticate(off, ctx, queryOnly, core.Policy{})
	requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMissingToken)
	assert.Nil(t, p)

	_, p, err = authenticate(off, ctx, queryOnly, core.Policy{Optional: true})
	require.NoError(t, err, "an ignored query token is an absent token")
	assert.Nil(t, p)

	both := &core.Request{Method: http.MethodGet, Authorization: []string{"Bearer " + tok}, Query: []string{other}}
	_, p, err = authenticate(off, ctx, both, core.Policy{})
	require.NoError(t, err)
	require.NotNil(t, p)
	assert.Equal(t, alice, *p)
	assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "only the header token was verified")

	on := newVerifier(t, srv, core.WithQueryToken(true))
	_, p, err = authenticate(on, ctx, queryOnly, core.Policy{})
	require.NoError(t, err)
	require.NotNil(t, p)
	assert.Equal(t, alice, *p)
	_, _, err = authenticate(on, ctx, both, core.Policy{})
	requireRejection(t, err, 400, core.CodeInvalidRequest, core.ErrMalformedToken)
}
