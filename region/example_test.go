package region_test

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/region"
)

// A web app signs its customers in where their Amazon account lives; the
// region's name comes from a flag or an environment variable.
func ExampleLookup() {
	r, err := region.Lookup("eu") // say, os.Getenv("LWA_REGION")
	if err != nil {
		panic(err)
	}
	conf := &oauth2.Config{
		ClientID:     "amzn1.application-oa2-client.example",
		ClientSecret: "example-secret",
		Endpoint:     r.Endpoint(),
		RedirectURL:  "https://app.example/callback",
		Scopes:       []string{"profile"},
	}
	fmt.Println(conf.AuthCodeURL("state")[:len(r.AuthURL)])
	fmt.Println(conf.Endpoint.TokenURL)
	fmt.Println("verify tokens at", r.APIURL)
	// Output:
	// https://eu.account.amazon.com/ap/oa
	// https://api.amazon.co.uk/auth/o2/token
	// verify tokens at https://api.amazon.co.uk
}

// In a test, lwatest poses as Amazon in every region: the app keeps its
// region.FE configuration and talks to the fake through srv.AmazonClient(),
// which also records the region each call asked.
func Example_lwatest() {
	srv := lwatest.NewServer()
	defer srv.Close()
	tok := srv.Token(core.Profile{Name: "Hanako"})

	v, err := core.NewVerifier(
		core.WithClientID(lwatest.ClientID),
		core.WithEndpoint(region.FE.APIURL), // unchanged: https://api.amazon.co.jp
		core.WithHTTPClient(srv.AmazonClient()),
	)
	if err != nil {
		panic(err)
	}
	defer v.Close()
	p, err := v.Verify(context.Background(), tok)
	if err != nil {
		panic(err)
	}
	call := srv.Calls(lwatest.EndpointTokenInfo)[0]
	fmt.Println(p.Name, "verified at", call.Host, "in region", call.Region)
	// Output: Hanako verified at api.amazon.co.jp in region fe
}
