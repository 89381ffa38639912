package main

// Revocation through the proxy: the proxy routes a sign-out path (/logout
// in deploy/nginx) to these endpoints, which stop accepting a token on
// every replica sharing the Redis. LWA has no revocation endpoint for
// access tokens: this is how a sign-out ends a token's use at the edge.
//
//	POST /revoke        the presented token (core.Verifier.Revoke)
//	POST /revoke/user   every token of the presented token's customer
//	                    issued until now (core.Verifier.RevokeUser)
//
// Only a valid token can be revoked (the request is verified first), so
// that nobody fills the revocation records with garbage. Both answer 204.

import (
	"log/slog"
	"net/http"

	"github.com/go-lwa/lwa/core"
)

// Paths of the revocation endpoints.
const (
	pathRevoke     = "/revoke"
	pathRevokeUser = "/revoke/user"
)

// revocations serves the revocation endpoints.
type revocations struct {
	v          *core.Verifier
	queryToken bool
	log        *slog.Logger
	token      http.Handler // POST /revoke
	user       http.Handler // POST /revoke/user
}

func newRevocations(v *core.Verifier, c *config, log *slog.Logger) *revocations {
	rv := &revocations{v: v, queryToken: c.queryToken, log: log}
	mw := protect(v, policy{}, nil) // rejections as the error table says
	rv.token = mw(http.HandlerFunc(rv.revokeToken))
	rv.user = mw(http.HandlerFunc(rv.revokeUser))
	return rv
}

// serve routes a request for one of the revocation paths.
func (rv *revocations) serve(w http.ResponseWriter, r *http.Request, user bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST", http.StatusMethodNotAllowed)
		return
	}
	if user {
		rv.user.ServeHTTP(w, r)
		return
	}
	rv.token.ServeHTTP(w, r)
}

func (rv *revocations) revokeToken(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := verified(r); !ok {
		writeError(w, internalError("lwaauthz: a request without a verified profile"))
		return
	}
	tok, ok := presentedToken(r)
	if !ok {
		writeError(w, internalError("lwaauthz: a verified request without its token"))
		return
	}
	rv.done(w, r, rv.v.Revoke(r.Context(), tok))
}

func (rv *revocations) revokeUser(w http.ResponseWriter, r *http.Request) {
	p, _, ok := verified(r)
	if !ok {
		writeError(w, internalError("lwaauthz: a request without a verified profile"))
		return
	}
	rv.done(w, r, rv.v.RevokeUser(r.Context(), p.UserID))
}

// done answers a revocation. It took effect on this replica whatever err
// says; err means the other replicas may not have heard of it (Redis
// trouble), which is logged: the client, signing out, can do nothing
// about it.
func (rv *revocations) done(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		rv.log.LogAttrs(r.Context(), slog.LevelWarn, "lwaauthz: revocation not shared with every replica", slog.String("error", err.Error()))
	}
	w.Header()["Cache-Control"] = noStore
	w.WriteHeader(http.StatusNoContent)
}
