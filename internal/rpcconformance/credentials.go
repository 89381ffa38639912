package rpcconformance

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
)

// testCredentials: what a handler can read of the call's credentials,
// through the adapter's Profile, Token and TokenInfo and through core's
// context functions, on a unary call's context and on every message of a
// stream; and that changing the profile it got changes nothing for anyone
// else.
func testCredentials(t *testing.T, a Adapter) {
	const header, cookie = "X-Api-Token", "lwa_token"
	e := newEnv(t, a, Setup{}, core.WithTokenHeader(header), core.WithTokenCookie(cookie))
	tok, p := e.issue("alice")
	before := time.Now().Add(-2 * time.Second)
	encoded := strings.Replace(tok, "|", "%7C", 1)
	for name, kv := range map[string][]string{
		"authorization":      {auth, bearer(tok)},
		"percent-encoded":    {auth, bearer(encoded)},
		"x-amz-access-token": {amz, tok},
		"custom header":      {strings.ToLower(header), tok},
		"cookie":             {"cookie", cookie + "=" + url.QueryEscape(tok)},
	} {
		t.Run(name, func(t *testing.T) {
			for _, c := range []call{e.unary(t, kv...), e.stream(t, kv...)} {
				for i, s := range e.accept(t, c, &p) {
					assert.Equal(t, tokenHash(tok), s.Token, "%s %d: Token: the token as extracted (decoded once)", c.method, i)
					assert.Equal(t, tokenHash(tok), s.CtxToken, "%s %d: core.TokenFromContext", c.method, i)
					require.NotNil(t, s.Info, "%s %d: TokenInfo", c.method, i)
					assert.Equal(t, s.Info, s.CtxInfo, "%s %d: core.TokenInfoFromContext", c.method, i)
					assert.Equal(t, ClientID, s.Info.ClientID)
					assert.True(t, s.Info.IssuedAt.After(before), "issued at %v", s.Info.IssuedAt)
					assert.WithinDuration(t, time.Now().Add(time.Hour), s.Info.ExpiresAt, 5*time.Second)
				}
			}
		})
	}
	t.Run("none without a token", func(t *testing.T) {
		o := newEnvWith(t, a, e, Setup{Policy: core.Policy{Optional: true}})
		for _, c := range []call{o.unary(t), o.stream(t)} {
			for _, s := range o.accept(t, c, nil) {
				assert.Empty(t, s.Token)
				assert.Empty(t, s.CtxToken)
				assert.Nil(t, s.Info)
				assert.Nil(t, s.CtxInfo)
			}
		}
	})
	t.Run("a handler's change stays its own", func(t *testing.T) {
		got, ok := core.FromContext(core.NewContext(context.Background(), p))
		require.True(t, ok)
		got.Email = "changed@example.com"
		e.acceptBoth(t, &p, auth, bearer(tok))
	})
}
