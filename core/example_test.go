package core_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

func ExampleVerifier_Verify() {
	// A fake Login with Amazon server stands in for api.amazon.com.
	srv := lwatest.NewServer()
	defer srv.Close()
	const clientID = "amzn1.application-oa2-client.example"
	token := srv.Issue(clientID, core.Profile{
		UserID:     "amzn1.account.EXAMPLE",
		Email:      "alice@example.com",
		Name:       "Alice",
		PostalCode: "98052",
	})

	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	p, err := v.Verify(context.Background(), token)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.UserID)
	fmt.Println(p.Email)
	fmt.Println(p.Name)
	fmt.Println(p.PostalCode)

	// A token issued to another app is rejected.
	_, err = v.Verify(context.Background(), srv.Issue("amzn1.application-oa2-client.other", core.Profile{}))
	var e *core.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, errors.Is(err, core.ErrNotOurToken))
	}
	// Output:
	// amzn1.account.EXAMPLE
	// alice@example.com
	// Alice
	// 98052
	// 404 not_found true
}
