package lwatest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// The whole "Sign in with Amazon" authorization code grant with PKCE, as a
// web server runs it with golang.org/x/oauth2, against the fake: the
// customer approves at once (AutoApprove), the server exchanges the code,
// verifies the access token as its API would, and later refreshes it.
func ExampleServer_RegisterApp() {
	srv := lwatest.NewServer()
	defer srv.Close()

	const clientID = "amzn1.application-oa2-client.example"
	srv.RegisterApp(lwatest.App{
		ClientID:     clientID,
		ClientSecret: "example-secret",
		RedirectURIs: []string{"https://app.example/callback"},
		Name:         "Example App",
	})
	srv.SetCustomer(core.Profile{UserID: "amzn1.account.EXAMPLE", Name: "Alice", Email: "alice@example.com"})
	srv.SetConsent(lwatest.AutoApprove) // no browser: approve without a consent page

	conf := &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: "example-secret",
		Endpoint:     oauth2.Endpoint{AuthURL: srv.AuthURL(), TokenURL: srv.TokenURL()},
		RedirectURL:  "https://app.example/callback",
		Scopes:       []string{"profile"},
	}
	// x/oauth2 and the verifier use the fake's client (Close closes its
	// connections).
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())

	// 1. Send the customer to Amazon, with a PKCE challenge.
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("some-state", oauth2.S256ChallengeOption(verifier))

	// 2. The browser's part: Amazon redirects back to the app with a code.
	browser := *srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(authURL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println(resp.StatusCode, back.Host+back.Path, "state:", back.Query().Get("state"))

	// 3. The app's callback exchanges the code, proving the verifier.
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		panic(err)
	}

	// 4. Its API verifies the access token like any other.
	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL), core.WithHTTPClient(srv.Client()))
	if err != nil {
		panic(err)
	}
	defer v.Close()
	p, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println("signed in:", p.Name, p.Email)

	// 5. An hour later the access token has expired; the token source
	// refreshes it (x/oauth2 reads its own clock, so tell it too).
	srv.Advance(61 * time.Minute)
	tok.Expiry = time.Now().Add(-time.Second)
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		panic(err)
	}
	fmt.Println("new access token:", fresh.AccessToken != tok.AccessToken, "new refresh token:", fresh.RefreshToken != tok.RefreshToken)
	p, err = v.Verify(ctx, fresh.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println("still signed in:", p.Name)

	// Output:
	// 302 app.example/callback state: some-state
	// signed in: Alice alice@example.com
	// new access token: true new refresh token: true
	// still signed in: Alice
}
