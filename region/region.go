// Package region names Login with Amazon's endpoints in each of Amazon's
// three regions: North America ([NA]), Europe ([EU]) and the Far East
// ([FE]).
//
// A Region holds the URLs an app needs to sign a customer in (the
// authorization page of the browser flow, the token endpoint, the code-pair
// endpoint of code-based linking for TVs and other devices) and the base URL
// of the API that verifies tokens (core.WithEndpoint). [Region.Endpoint]
// hands the sign-in URLs to golang.org/x/oauth2:
//
//	conf := &oauth2.Config{
//		ClientID:     clientID,
//		ClientSecret: clientSecret,
//		Endpoint:     region.EU.Endpoint(),
//		RedirectURL:  "https://app.example/callback",
//		Scopes:       []string{"profile"},
//	}
//	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(region.EU.APIURL))
//
// [Lookup] finds a region by its short name ("na", "eu", "fe"), for flags
// and environment variables; a *Region is also a flag.Value.
//
// In tests, lwatest.Server.AmazonClient sends requests for every region's
// hosts to a fake server, so an app configured with region.EU runs
// unchanged; lwatest.Server.Region returns the fake's own endpoints as a
// Region.
package region

import (
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/core"
)

// Region is one of Login with Amazon's regions: where its customers sign in
// and where their tokens are verified. A customer signs in to the region of
// the Amazon marketplace their account belongs to.
type Region struct {
	// Name is the region's short name: "na", "eu" or "fe".
	Name string

	// AuthURL is the authorization endpoint of the browser sign-in (the
	// page that asks the customer's consent), such as
	// https://www.amazon.com/ap/oa.
	AuthURL string

	// TokenURL is the token endpoint: authorization codes, device codes
	// and refresh tokens are exchanged there for access tokens.
	TokenURL string

	// CodePairURL is the code-pair endpoint of code-based linking: a TV or
	// other device asks it for a user code to show and a device code to
	// poll the token endpoint with.
	CodePairURL string

	// APIURL is the base URL of the region's API (tokeninfo, profile): the
	// value for core.WithEndpoint. It equals core.EndpointNA, EndpointEU or
	// EndpointFE.
	APIURL string
}

// The three regions. Their URLs follow Amazon's documentation: the
// authorization pages and token endpoints are those listed for Login with
// Amazon's regions (and by Amazon Ads, which signs in through it); the
// code-pair endpoint lives on the same API host as the token endpoint.
var (
	// NA is North America (amazon.com, .ca, .com.mx, .com.br).
	NA = Region{
		Name:        "na",
		AuthURL:     "https://www.amazon.com/ap/oa",
		TokenURL:    core.EndpointNA + "/auth/o2/token",
		CodePairURL: core.EndpointNA + "/auth/o2/create/codepair",
		APIURL:      core.EndpointNA,
	}
	// EU is Europe (amazon.co.uk, .de, .fr, .it, .es and the other
	// European, Middle Eastern and Indian marketplaces).
	EU = Region{
		Name:        "eu",
		AuthURL:     "https://eu.account.amazon.com/ap/oa",
		TokenURL:    core.EndpointEU + "/auth/o2/token",
		CodePairURL: core.EndpointEU + "/auth/o2/create/codepair",
		APIURL:      core.EndpointEU,
	}
	// FE is the Far East (amazon.co.jp, .com.au, .sg).
	FE = Region{
		Name:        "fe",
		AuthURL:     "https://apac.account.amazon.com/ap/oa",
		TokenURL:    core.EndpointFE + "/auth/o2/token",
		CodePairURL: core.EndpointFE + "/auth/o2/create/codepair",
		APIURL:      core.EndpointFE,
	}
)

// All returns the three regions: NA, EU and FE.
func All() []Region { return []Region{NA, EU, FE} }

// Lookup returns the region named name: "na", "eu" or "fe", in any case,
// surrounding spaces ignored. It is meant for flags and environment
// variables; its error lists the valid names.
func Lookup(name string) (Region, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, r := range All() {
		if r.Name == n {
			return r, nil
		}
	}
	return Region{}, fmt.Errorf("region: unknown Login with Amazon region %q: want na, eu or fe", name)
}

// Endpoint returns the region's sign-in endpoints for golang.org/x/oauth2:
// AuthURL, TokenURL, and DeviceAuthURL set to CodePairURL. Its AuthStyle is
// oauth2.AuthStyleInParams: Amazon's documentation sends client_id (and
// client_secret, for a confidential client) in the form.
//
// Amazon's code-based linking is not quite RFC 8628: to drive it with
// oauth2.Config.DeviceAuth and DeviceAccessToken, pass
// oauth2.SetAuthURLParam("response_type", "device_code") to the first, and
// oauth2.SetAuthURLParam("grant_type", "device_code") and
// oauth2.SetAuthURLParam("user_code", da.UserCode) to the second.
func (r Region) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       r.AuthURL,
		TokenURL:      r.TokenURL,
		DeviceAuthURL: r.CodePairURL,
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// String returns the region's Name.
func (r Region) String() string { return r.Name }

// Set makes r the region named name (see Lookup), so that a *Region is a
// flag.Value. Call it on a variable of your own, never on &region.NA (that
// would change NA for the whole program):
//
//	r := region.NA // the default
//	flag.Var(&r, "region", "Login with Amazon region: na, eu or fe")
func (r *Region) Set(name string) error {
	found, err := Lookup(name)
	if err != nil {
		return err
	}
	*r = found
	return nil
}
