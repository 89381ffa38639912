package core_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// Revoke is the logout: the token keeps verifying at Amazon, but this
// server (and, with a shared cache, every replica) refuses it from now on.
func ExampleVerifier_Revoke() {
	srv := lwatest.NewServer()
	defer srv.Close()
	const clientID = "amzn1.application-oa2-client.example"
	token := srv.Issue(clientID, core.Profile{UserID: "amzn1.account.EXAMPLE", Name: "Alice"})

	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	ctx := context.Background()

	_, err = v.Verify(ctx, token)
	fmt.Println("before:", err)
	if err := v.Revoke(ctx, "Bearer "+token); err != nil { // as the client sent it
		fmt.Println(err)
	}
	_, err = v.Verify(ctx, token)
	fmt.Println("after:", errors.Is(err, core.ErrInvalidToken))
	// Output:
	// before: <nil>
	// after: true
}

// RevokeUser signs a customer out everywhere: tokens issued before the call
// are refused, tokens issued later are accepted.
func ExampleVerifier_RevokeUser() {
	srv := lwatest.NewServer()
	defer srv.Close()
	const clientID = "amzn1.application-oa2-client.example"
	alice := core.Profile{UserID: "amzn1.account.EXAMPLE", Name: "Alice"}
	old := srv.Issue(clientID, alice)

	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	ctx := context.Background()

	if err := v.RevokeUser(ctx, alice.UserID); err != nil {
		fmt.Println(err)
	}
	srv.Advance(5e9) // five seconds later on the fake's clock (past the 2 s margin), she signs in again
	fresh := srv.Issue(clientID, alice)

	_, err = v.Verify(ctx, old)
	fmt.Println("old token:", errors.Is(err, core.ErrInvalidToken))
	_, err = v.Verify(ctx, fresh)
	fmt.Println("new token:", err)
	// Output:
	// old token: true
	// new token: <nil>
}

// NewError answers a condition of the app's own with the table's shape.
func ExampleNewError() {
	w := httptest.NewRecorder()
	core.WriteError(w, core.NewError(core.ErrInsufficientScope, "this route needs your postal code"))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Println(w.Body.String())
	// Output:
	// 401 Bearer error="insufficient_scope", error_description="this route needs your postal code"
	// {"error":"insufficient_scope","error_description":"this route needs your postal code"}
}

// With RFC 6750's statuses, a request without a token is a 401 with a bare
// challenge, which "refresh on 401" clients expect.
func ExampleWithRFC6750Statuses() {
	srv := lwatest.NewServer()
	defer srv.Close()
	v, err := core.NewVerifier(core.WithClientID("amzn1.application-oa2-client.example"),
		core.WithEndpoint(srv.URL), core.WithRFC6750Statuses())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	_, _, err = authenticate(v, context.Background(), &core.Request{Method: "GET"}, core.Policy{})
	w := httptest.NewRecorder()
	core.WriteError(w, err)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer
}
