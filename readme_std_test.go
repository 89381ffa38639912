package lwa_test

// The README's net/http quick start, imports included (the snippet is this
// file but for its package clause and this comment); TestREADMEQuickStarts
// runs it.

import (
	"encoding/json"
	"net/http"

	"github.com/go-lwa/lwa/stdlwa"
)

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	protect := stdlwa.Require() // client ID from LWA_CLIENT_ID; panics at startup if the configuration is invalid
	mux.Handle("GET /me", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := stdlwa.Profile(r) // or core.FromContext(r.Context())
		if !ok {
			http.Error(w, "no profile", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
	})))
	return mux // http.ListenAndServe(":8080", newMux())
}
