package devicelink_test

// The protected API the TV calls, and the only calls into core and stdlwa
// of these tests: an http.ServeMux with GET /me behind stdlwa, verifying
// tokens against the fake.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// newAPI serves GET /me, protected by stdlwa for the client IDs, verifying
// against srv. It returns the URL of /me and a function that stops the API.
func newAPI(srv *lwatest.Server, clientIDs ...string) (meURL string, stop func()) {
	v, err := core.NewVerifier(core.WithClientID(clientIDs...), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	})))
	api := httptest.NewServer(mux)
	return api.URL + "/me", func() {
		api.Close()
		_ = v.Close()
	}
}
