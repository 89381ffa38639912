package accountlink_test

import (
	"context"
	"fmt"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/examples/accountlink"
	"github.com/go-lwa/lwa/lwatest"
)

// A customer signs in twice, having changed their email address in between,
// and another customer shows up with that same address. The verified
// profile's user_id decides, never the email.
func Example() {
	ctx := context.Background()
	srv := lwatest.NewServer() // Amazon, for the example
	defer srv.Close()
	const clientID = "amzn1.application-oa2-client.example"
	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL), core.WithHTTPClient(srv.Client()))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	store, err := accountlink.Open(ctx, ":memory:")
	if err != nil {
		panic(err)
	}
	defer store.Close()

	signIn := func(p core.Profile) {
		tok := srv.Issue(clientID, p)       // the customer signs in with Amazon...
		verified, err := v.Verify(ctx, tok) // ...our API verifies the token...
		if err != nil {
			panic(err)
		}
		acct, err := store.LinkOrCreate(ctx, verified) // ...and finds the local account
		if err != nil {
			panic(err)
		}
		fmt.Printf("account %d: %s <%s>\n", acct.ID, acct.Name, acct.Email)
	}

	signIn(core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice", Email: "alice@example.com"})
	signIn(core.Profile{UserID: "amzn1.account.ALICE", Name: "Alice", Email: "alice@new.example"})
	signIn(core.Profile{UserID: "amzn1.account.MALLORY", Name: "Mallory", Email: "alice@new.example"})

	// Output:
	// account 1: Alice <alice@example.com>
	// account 1: Alice <alice@new.example>
	// account 2: Mallory <alice@new.example>
}
