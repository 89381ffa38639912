package accountlink_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/examples/accountlink"
)

func openStore(t *testing.T) *accountlink.Store {
	t.Helper()
	s, err := accountlink.Open(context.Background(), filepath.Join(t.TempDir(), "accounts.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

var alice = core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice", Email: "alice@example.com", PostalCode: "98052"}

func TestFirstSignInCreates(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	_, err := s.ByAmazonUserID(ctx, alice.UserID)
	require.ErrorIs(t, err, sql.ErrNoRows)

	a, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)
	assert.NotZero(t, a.ID)
	assert.Equal(t, alice.UserID, a.AmazonUserID)
	assert.Equal(t, "Alice", a.Name)
	assert.Equal(t, "alice@example.com", a.Email)
	assert.Equal(t, "98052", a.PostalCode)
	assert.False(t, a.Created.IsZero())
	assert.Equal(t, a.Created, a.LastSignIn)

	got, err := s.ByAmazonUserID(ctx, alice.UserID)
	require.NoError(t, err)
	assert.Equal(t, a, got)
}

func TestChangedEmailFindsTheSameAccount(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	first, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)

	moved := alice
	moved.Email, moved.Name = "alice@new.example", "Alice L."
	again, err := s.LinkOrCreate(ctx, moved)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID, "same customer, same account")
	assert.Equal(t, "alice@new.example", again.Email, "contact details refreshed")
	assert.Equal(t, "Alice L.", again.Name)
	assert.Equal(t, first.Created, again.Created)
	assert.False(t, again.LastSignIn.Before(first.LastSignIn))

	// A sign-in with only profile:user_id keeps what the account knows.
	idOnly, err := s.LinkOrCreate(ctx, core.Profile{UserID: alice.UserID})
	require.NoError(t, err)
	assert.Equal(t, first.ID, idOnly.ID)
	assert.Equal(t, "alice@new.example", idOnly.Email)
	assert.Equal(t, "98052", idOnly.PostalCode)
}

func TestSameEmailTwoCustomersTwoAccounts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)

	// Another Amazon customer who shows the same address: never linked to
	// Alice's account.
	mallory := core.Profile{UserID: "amzn1.account.MALLORY", Name: "Mallory", Email: alice.Email}
	m, err := s.LinkOrCreate(ctx, mallory)
	require.NoError(t, err)
	assert.NotEqual(t, a.ID, m.ID)
	assert.Equal(t, "Mallory", m.Name)

	again, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, a.ID, again.ID)
	assert.Equal(t, "Alice", again.Name, "Mallory's sign-in did not touch Alice's account")
}

func TestNoUserIDNoLink(t *testing.T) {
	s := openStore(t)
	_, err := s.LinkOrCreate(context.Background(), core.Profile{Email: alice.Email})
	assert.True(t, errors.Is(err, accountlink.ErrNoUserID))
}

func TestConcurrentFirstSignIns(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	ids := make([]int64, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			a, err := s.LinkOrCreate(ctx, alice)
			assert.NoError(t, err)
			ids[i] = a.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		assert.Equal(t, ids[0], id, "one customer, one account: %v", ids)
	}
}

func TestPersistsAcrossOpens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "accounts.db")
	s, err := accountlink.Open(ctx, path)
	require.NoError(t, err)
	a, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = accountlink.Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	b, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID)
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s, err := accountlink.Open(ctx, ":memory:")
	require.NoError(t, err)
	defer s.Close()
	a, err := s.LinkOrCreate(ctx, alice)
	require.NoError(t, err)
	b, err := s.ByAmazonUserID(ctx, alice.UserID)
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID)
}
