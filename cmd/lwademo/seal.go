package main

// Sealed cookies: what the sign-in must remember between two requests of
// one browser (the state and PKCE verifier from /login to /callback; the
// token from /callback to the page) travels in that browser's cookies,
// encrypted and authenticated with AES-256-GCM under a key that never
// leaves this process. The server keeps no table of sign-ins under way, so
// no number of requests can fill one.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// maxSealedCookie bounds a sealed cookie's value: a browser keeps at most
// about 4096 bytes per cookie, and anything longer is not ours.
const maxSealedCookie = 4096

// errSealed is every failure to open a sealed cookie: absent, cut, forged,
// tampered with, sealed for another cookie, sealed by another process, or
// expired. One error, so that no answer tells which.
var errSealed = errors.New("lwademo: no valid sealed cookie")

// sealer seals small JSON values into cookie values.
type sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

// newSealer returns a sealer with a fresh random key: what it seals, only
// this process opens (a restart ends the sign-ins under way; several
// replicas behind one address need one key between them, or /callback
// routed back to the replica that served /login).
func newSealer(now func() time.Time) (*sealer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, now: now}, nil
}

// sealed is what a sealer seals: a value with its own expiry.
type sealed interface {
	expiry() int64 // Unix seconds
}

// seal encrypts v for the cookie named name (the name is authenticated
// too: a value sealed for one cookie does not open as another).
func (s *sealer) seal(name string, v sealed) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

// open decrypts value, sealed for the cookie named name, into v, and
// checks that it has not expired.
func (s *sealer) open(name, value string, v sealed) error {
	if len(value) > maxSealedCookie {
		return errSealed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value) // one encoding per value
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return errSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return errSealed
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errSealed
	}
	if s.now().Unix() >= v.expiry() {
		return errSealed
	}
	return nil
}

// secret is a string that must never be printed: the access token, the
// PKCE verifier. Formatting it with any verb of package fmt, or logging it
// with log/slog, shows a placeholder; encoding/json, which seals it, sees
// the string itself.
type secret string

const redacted = "[redacted]"

// Format implements fmt.Formatter.
func (secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (secret) LogValue() slog.Value { return slog.StringValue(redacted) }
