package fastreq

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/go-lwa/lwa/core"
)

// TestRead: every value of every source, the custom header and cookie when
// configured, header names in any case, and Access-Control-Request-Method
// only on OPTIONS.
func TestRead(t *testing.T) {
	v, err := core.NewVerifier(core.WithClientID("x"), core.WithTokenHeader("X-Api-Token"), core.WithTokenCookie("tok"))
	require.NoError(t, err)
	defer v.Close()
	plain, err := core.NewVerifier(core.WithClientID("x"))
	require.NoError(t, err)
	defer plain.Close()

	var req fasthttp.Request
	req.Header.DisableNormalizing()
	req.Header.SetMethod(fasthttp.MethodOptions)
	req.SetRequestURI("/p?access_token=q1&access_token=q2")
	req.Header.Add("authorization", "Bearer a1")
	req.Header.Add("AUTHORIZATION", "Bearer a2")
	req.Header.Add("X-Amz-Access-Token", "z")
	req.Header.Add("x-api-token", "h")
	req.Header.Add("Access-Control-Request-Method", "POST")
	req.Header.Add("Cookie", "other=o; tok=c")
	ctx := new(fasthttp.RequestCtx)
	req.CopyTo(&ctx.Request)

	var buf Buffer
	r := NewReader(v).Read(ctx, &buf)
	assert.Equal(t, "OPTIONS", r.Method)
	assert.Equal(t, "POST", r.AccessControlRequestMethod)
	assert.Equal(t, []string{"Bearer a1", "Bearer a2"}, r.Authorization)
	assert.Equal(t, []string{"z"}, r.AmzAccessToken)
	assert.Equal(t, []string{"q1", "q2"}, r.Query)
	assert.Equal(t, []string{"h"}, r.Header)
	assert.Equal(t, []string{"c"}, r.Cookie)

	var buf2 Buffer
	r = NewReader(plain).Read(ctx, &buf2)
	assert.Nil(t, r.Header, "no custom header configured")
	assert.Nil(t, r.Cookie, "no cookie configured")

	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.Header.Del("Authorization")
	ctx.Request.Header.Del("authorization")
	ctx.Request.Header.Del("AUTHORIZATION")
	var buf3 Buffer
	r = NewReader(plain).Read(ctx, &buf3)
	assert.Empty(t, r.AccessControlRequestMethod, "read on OPTIONS only")
	assert.Nil(t, r.Authorization, "an absent header is nil, as in net/http")
}
