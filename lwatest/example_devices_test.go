package lwatest_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// A TV signs in with code-based linking, driven by golang.org/x/oauth2's
// device flow. Amazon's requests are not quite RFC 8628's, so the device
// flow needs three parameters set: response_type on the code-pair request,
// grant_type and user_code on the token requests. The customer enters the
// code at once (AutoApprove); x/oauth2 polls on the real clock, so the code
// pairs ask for a one-second interval.
func ExampleServer_CodePairURL() {
	srv := lwatest.NewServer()
	defer srv.Close()

	const tvID = "amzn1.application-oa2-client.tv"
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true, Name: "Living-room TV"})
	srv.SetCustomer(core.Profile{UserID: "amzn1.account.EXAMPLE", Name: "Alice", Email: "alice@example.com"})
	srv.SetConsent(lwatest.AutoApprove)
	srv.SetCodePairTiming(10*time.Minute, time.Second)

	conf := &oauth2.Config{
		ClientID: tvID,
		Endpoint: srv.Region().Endpoint(), // region.NA.Endpoint() against Amazon
		Scopes:   []string{"profile"},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())

	da, err := conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("response_type", "device_code"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("On your phone, open %s and enter the %d-character code.\n",
		strings.Replace(da.VerificationURI, srv.URL, "https://www.amazon.com", 1), len(da.UserCode))

	tok, err := conf.DeviceAccessToken(ctx, da,
		oauth2.SetAuthURLParam("grant_type", "device_code"),
		oauth2.SetAuthURLParam("user_code", da.UserCode))
	if err != nil {
		panic(err)
	}

	v, err := core.NewVerifier(core.WithClientID(tvID), core.WithEndpoint(srv.URL), core.WithHTTPClient(srv.Client()))
	if err != nil {
		panic(err)
	}
	defer v.Close()
	p, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println("signed in on the TV:", p.Name, p.Email)
	fmt.Println("refresh token:", strings.HasPrefix(tok.RefreshToken, "Atzr|"))

	// Output:
	// On your phone, open https://www.amazon.com/code and enter the 6-character code.
	// signed in on the TV: Alice alice@example.com
	// refresh token: true
}
