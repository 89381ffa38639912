package lwatest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// TestVerifierFollowsTheFake: a verifier from Server.Verifier forgets what
// Revoke and Expire end, and its cache ages with Advance.
func TestVerifierFollowsTheFake(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	ctx := context.Background()
	alice := core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice"}

	revoked := srv.Token(alice)
	_, err := v.Verify(ctx, revoked)
	require.NoError(t, err)
	srv.Revoke(revoked)
	_, err = v.Verify(ctx, revoked)
	assert.True(t, errors.Is(err, core.ErrInvalidToken), "revoked at the fake: %v", err)

	expired := srv.Token(alice)
	_, err = v.Verify(ctx, expired)
	require.NoError(t, err)
	srv.Expire(expired)
	_, err = v.Verify(ctx, expired)
	assert.True(t, errors.Is(err, core.ErrInvalidToken), "expired at the fake: %v", err)

	short := srv.Token(alice, lwatest.WithLifetime(10*time.Minute))
	_, err = v.Verify(ctx, short)
	require.NoError(t, err)
	srv.Advance(11 * time.Minute) // past the token's lifetime and the cache's TTL
	_, err = v.Verify(ctx, short)
	assert.True(t, errors.Is(err, core.ErrInvalidToken), "expired by Advance: %v", err)

	p, info, err := v.VerifyInfo(ctx, srv.Token(alice))
	require.NoError(t, err)
	assert.Equal(t, alice.UserID, p.UserID)
	assert.Equal(t, lwatest.ClientID, info.ClientID)
}

// TestWithIssuedAt: a token can be issued at a chosen time, and RevokeUser
// tells tokens issued before a revocation from those issued after.
func TestWithIssuedAt(t *testing.T) {
	srv := lwatest.Start(t)
	v := srv.Verifier(t)
	ctx := context.Background()
	alice := core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice"}
	now := srv.Now()
	before := srv.Token(alice, lwatest.WithIssuedAt(now.Add(-10*time.Minute)))
	_, info, err := v.VerifyInfo(ctx, before)
	require.NoError(t, err)
	assert.Equal(t, now.Add(-10*time.Minute).Unix(), info.IssuedAt.Unix())
	assert.WithinDuration(t, now.Add(50*time.Minute), info.ExpiresAt, 2*time.Second, "the lifetime runs from iat")

	require.NoError(t, v.RevokeUser(ctx, alice.UserID))
	after := srv.Token(alice, lwatest.WithIssuedAt(srv.Now().Add(5*time.Second))) // past RevokeUser's 2 s margin
	_, err = v.Verify(ctx, before)
	assert.True(t, errors.Is(err, core.ErrInvalidToken), "issued before the revocation: %v", err)
	_, err = v.Verify(ctx, after)
	assert.NoError(t, err, "issued after the revocation")
}
