package devicelink_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-lwa/lwa/examples/devicelink"
	"github.com/go-lwa/lwa/lwatest"
)

// The TV's whole sign-in, offline: a fake Amazon whose customer enters the
// code at once (AutoApprove), and an API protected by stdlwa (newAPI, in
// api_test.go). Against Amazon, Region is region.NA (or EU, FE) and the
// customer takes their time.
func ExampleClient_Link() {
	const tvClientID = "amzn1.application-oa2-client.tv"
	srv := lwatest.NewServer()
	defer srv.Close()
	srv.RegisterApp(lwatest.App{ClientID: tvClientID, Device: true, Name: "Living-room TV"})
	srv.SetConsent(lwatest.AutoApprove)
	meURL, stop := newAPI(srv, tvClientID) // GET /me behind stdlwa.New(v)
	defer stop()

	tv := &devicelink.Client{ClientID: tvClientID, Region: srv.Region(), HTTPClient: srv.Client()}
	tok, err := tv.Link(context.Background(), func(cp devicelink.CodePair) {
		fmt.Printf("Open %s and enter the code (%d characters).\n",
			strings.Replace(cp.VerificationURI, srv.URL, "https://www.amazon.com", 1), len(cp.UserCode))
	})
	if err != nil {
		panic(err)
	}
	body, err := devicelink.CallAPI(context.Background(), http.DefaultClient, meURL, tok.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(body))
	// Output:
	// Open https://www.amazon.com/code and enter the code (6 characters).
	// {"user_id":"amzn1.account.LWATESTCUSTOMER0000000000000","email":"customer@example.com","name":"Test Customer","postal_code":""}
}
