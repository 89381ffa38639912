package core

import (
	"errors"

	"github.com/go-lwa/lwa/internal/bridge"
)

// CloseRequired closes every Verifier that an adapter's Require or
// RequireWith built, and forgets them; the middleware using them must not
// serve requests afterwards. Such a Verifier otherwise lives as long as the
// program, which is what a server wants; a test that checks for leaked
// goroutines (go.uber.org/goleak) calls CloseRequired in its cleanup, or
// builds its middleware with New and a Verifier it closes (lwatest's
// Server.Verifier closes itself).
func CloseRequired() error {
	var errs []error
	for _, v := range bridge.TakeRequired() {
		errs = append(errs, v.Close())
	}
	return errors.Join(errs...)
}
