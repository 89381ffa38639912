package conformance

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

// testCredentials: what the protected handler can read of the request's
// credentials, through the adapter's Profile, Token and TokenInfo and
// through core's context functions; and that changing the profile it got
// changes nothing for anyone else.
func testCredentials(t *testing.T, a Adapter) {
	const header, cookie = "X-Api-Token", "lwa_token"
	e := newEnv(t, a, Setup{}, core.WithTokenHeader(header), core.WithTokenCookie(cookie))
	tok, p := e.issue("alice")
	before := time.Now().Add(-2 * time.Second)
	encoded := strings.Replace(tok, "|", "%7C", 1)
	for name, r := range map[string]response{
		"Authorization":   e.get(t, "", auth, bearer(tok)),
		"percent-encoded": e.get(t, "", auth, bearer(encoded)),
		"query":           e.get(t, "access_token="+url.QueryEscape(tok)),
		"custom header":   e.get(t, "", header, tok),
		"cookie":          e.get(t, "", "Cookie", cookie+"="+tok),
	} {
		t.Run(name, func(t *testing.T) {
			e.accept(t, r, &p)
			s := r.seen(t)
			assert.Equal(t, tokenHash(tok), s.Token, "Token: the token as extracted (decoded once)")
			assert.Equal(t, tokenHash(tok), s.CtxToken, "core.TokenFromContext")
			require.NotNil(t, s.Info, "TokenInfo")
			assert.Equal(t, s.Info, s.CtxInfo, "core.TokenInfoFromContext")
			assert.Equal(t, ClientID, s.Info.ClientID)
			assert.True(t, s.Info.IssuedAt.After(before), "issued at %v", s.Info.IssuedAt)
			assert.WithinDuration(t, time.Now().Add(time.Hour), s.Info.ExpiresAt, 5*time.Second)
		})
	}
	t.Run("none without a token", func(t *testing.T) {
		o := newEnvWith(t, a, e, Setup{Policy: core.Policy{Optional: true}})
		s := o.get(t, "").seen(t)
		assert.Empty(t, s.Token)
		assert.Empty(t, s.CtxToken)
		assert.Nil(t, s.Info)
		assert.Nil(t, s.CtxInfo)
	})
	t.Run("a handler's change stays its own", func(t *testing.T) {
		// Every profile a handler gets is a copy: the cached one cannot be
		// changed through it.
		got, ok := core.FromContext(core.NewContext(context.Background(), p))
		require.True(t, ok)
		got.Email = "changed@example.com"
		e.accept(t, e.get(t, "", auth, bearer(tok)), &p)
	})
}
