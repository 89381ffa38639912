// Package accountlink links the customers who sign in with Amazon to local
// accounts, following Amazon's "Integrate with your existing account
// system": the first sign-in of an Amazon customer creates (or links) a
// local account; every later sign-in finds that account again.
//
// The link key is the profile's user_id ("amzn1.account.…"), never the
// email address:
//
//   - user_id is stable and unique: Amazon gives one customer one user_id
//     (per company), for good. The email is contact data the customer can
//     change at any time; keyed by email, a customer who changes it would
//     come back as a stranger with a new, empty account.
//   - An email address is not proof of identity. Several Amazon accounts can
//     carry the same address (one per marketplace region, or an address
//     given up and registered again by someone else), and the address of an
//     Amazon account is not necessarily verified. Linking by email would let
//     whoever controls some Amazon account with the victim's address sign in
//     to the victim's local account: an account takeover.
//   - The email is absent when the customer granted only profile:user_id.
//
// So the email (and the name and postal code) are stored as the account's
// latest contact details, refreshed at each sign-in, and no column of them
// is unique. The store is SQLite through modernc.org/sqlite (pure Go, no
// cgo).
//
// In a handler behind one of this module's middlewares:
//
//	p, _ := stdlwa.Profile(r) // verified by core.Verifier: aud and user_id checked
//	acct, err := store.LinkOrCreate(r.Context(), p)
package accountlink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/go-lwa/lwa/core"
)

// Account is a local account linked to an Amazon customer.
type Account struct {
	ID           int64
	AmazonUserID string // the link: the LWA profile's user_id
	Name         string // latest contact details from Amazon, not keys
	Email        string
	PostalCode   string
	Created      time.Time
	LastSignIn   time.Time
}

// Store keeps local accounts and their links to Amazon customers.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

const schema = `
CREATE TABLE IF NOT EXISTS accounts (
	id           INTEGER PRIMARY KEY,
	name         TEXT    NOT NULL DEFAULT '',
	email        TEXT    NOT NULL DEFAULT '', -- contact data: not unique, not a key
	postal_code  TEXT    NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,            -- Unix milliseconds
	last_sign_in INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS amazon_links (
	amazon_user_id TEXT    PRIMARY KEY,                                 -- LWA user_id: stable, unique
	account_id     INTEGER NOT NULL UNIQUE REFERENCES accounts(id) ON DELETE CASCADE
);`

// Open opens (creating it if needed) the SQLite database at path, or an
// in-memory database for ":memory:", and prepares its tables.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{
		"_txlock":       {"immediate"}, // a transaction takes the write lock at BEGIN: no lost race between look-up and insert
		"_busy_timeout": {"5000"},
		"_foreign_keys": {"1"},
		"_journal_mode": {"WAL"},
	}
	dsn := "file:" + path + "?" + q.Encode()
	if path == ":memory:" {
		q.Del("_journal_mode")
		dsn = "file::memory:?" + q.Encode()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1) // each connection would have its own memory database
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("accountlink: create tables: %w", err)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// ErrNoUserID is returned for a profile without a user_id: there is nothing
// safe to link it by.
var ErrNoUserID = errors.New("accountlink: the profile has no user_id")

// LinkOrCreate returns the local account linked to the Amazon customer p,
// creating it on the customer's first sign-in. p must come from a verified
// token (core.Verifier, or an adapter's Profile): its UserID is the only
// key. The account's name, email and postal code are refreshed from p where
// p has them (a field the customer did not grant this time keeps its old
// value). Concurrent first sign-ins of one customer create one account.
func (s *Store) LinkOrCreate(ctx context.Context, p core.Profile) (Account, error) {
	if p.UserID == "" {
		return Account{}, ErrNoUserID
	}
	now := s.now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Account{}, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing

	var id int64
	err = tx.QueryRowContext(ctx, `SELECT account_id FROM amazon_links WHERE amazon_user_id = ?`, p.UserID).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := tx.ExecContext(ctx,
			`INSERT INTO accounts (name, email, postal_code, created, last_sign_in) VALUES (?, ?, ?, ?, ?)`,
			p.Name, p.Email, p.PostalCode, now, now)
		if err != nil {
			return Account{}, err
		}
		if id, err = res.LastInsertId(); err != nil {
			return Account{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO amazon_links (amazon_user_id, account_id) VALUES (?, ?)`, p.UserID, id); err != nil {
			return Account{}, err
		}
	case err != nil:
		return Account{}, err
	default:
		if _, err := tx.ExecContext(ctx, `
			UPDATE accounts SET
				name        = CASE WHEN ?1 <> '' THEN ?1 ELSE name END,
				email       = CASE WHEN ?2 <> '' THEN ?2 ELSE email END,
				postal_code = CASE WHEN ?3 <> '' THEN ?3 ELSE postal_code END,
				last_sign_in = ?4
			WHERE id = ?5`, p.Name, p.Email, p.PostalCode, now, id); err != nil {
			return Account{}, err
		}
	}
	acct, err := get(ctx, tx, `a.id = ?`, id)
	if err != nil {
		return Account{}, err
	}
	return acct, tx.Commit()
}

// ByAmazonUserID returns the account linked to the Amazon customer userID,
// or sql.ErrNoRows.
func (s *Store) ByAmazonUserID(ctx context.Context, userID string) (Account, error) {
	return get(ctx, s.db, `l.amazon_user_id = ?`, userID)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func get(ctx context.Context, q querier, where string, arg any) (Account, error) {
	var a Account
	var created, last int64
	err := q.QueryRowContext(ctx, `
		SELECT a.id, l.amazon_user_id, a.name, a.email, a.postal_code, a.created, a.last_sign_in
		FROM accounts a JOIN amazon_links l ON l.account_id = a.id
		WHERE `+where, arg).Scan(&a.ID, &a.AmazonUserID, &a.Name, &a.Email, &a.PostalCode, &created, &last)
	if err != nil {
		return Account{}, err
	}
	a.Created, a.LastSignIn = time.UnixMilli(created), time.UnixMilli(last)
	return a, nil
}
