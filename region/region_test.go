package region_test

import (
	"flag"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/amazon"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/region"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRegions(t *testing.T) {
	assert.Equal(t, []region.Region{region.NA, region.EU, region.FE}, region.All())
	assert.Equal(t, region.Region{
		Name:        "na",
		AuthURL:     "https://www.amazon.com/ap/oa",
		TokenURL:    "https://api.amazon.com/auth/o2/token",
		CodePairURL: "https://api.amazon.com/auth/o2/create/codepair",
		APIURL:      "https://api.amazon.com",
	}, region.NA)
	assert.Equal(t, region.Region{
		Name:        "eu",
		AuthURL:     "https://eu.account.amazon.com/ap/oa",
		TokenURL:    "https://api.amazon.co.uk/auth/o2/token",
		CodePairURL: "https://api.amazon.co.uk/auth/o2/create/codepair",
		APIURL:      "https://api.amazon.co.uk",
	}, region.EU)
	assert.Equal(t, region.Region{
		Name:        "fe",
		AuthURL:     "https://apac.account.amazon.com/ap/oa",
		TokenURL:    "https://api.amazon.co.jp/auth/o2/token",
		CodePairURL: "https://api.amazon.co.jp/auth/o2/create/codepair",
		APIURL:      "https://api.amazon.co.jp",
	}, region.FE)
	assert.Equal(t, []string{core.EndpointNA, core.EndpointEU, core.EndpointFE},
		[]string{region.NA.APIURL, region.EU.APIURL, region.FE.APIURL}, "the API URLs are core's")
	// x/oauth2's own Amazon endpoint is North America's.
	assert.Equal(t, amazon.Endpoint.AuthURL, region.NA.AuthURL)
	assert.Equal(t, amazon.Endpoint.TokenURL, region.NA.TokenURL)

	for _, r := range region.All() {
		for _, raw := range []string{r.AuthURL, r.TokenURL, r.CodePairURL, r.APIURL} {
			u, err := url.Parse(raw)
			require.NoError(t, err)
			assert.Equal(t, "https", u.Scheme, raw)
		}
		assert.True(t, strings.HasPrefix(r.TokenURL, r.APIURL+"/"), "token endpoint on the API host")
		assert.True(t, strings.HasPrefix(r.CodePairURL, r.APIURL+"/"), "code-pair endpoint on the API host")
	}
}

func TestEndpoint(t *testing.T) {
	assert.Equal(t, oauth2.Endpoint{
		AuthURL:       "https://eu.account.amazon.com/ap/oa",
		TokenURL:      "https://api.amazon.co.uk/auth/o2/token",
		DeviceAuthURL: "https://api.amazon.co.uk/auth/o2/create/codepair",
		AuthStyle:     oauth2.AuthStyleInParams,
	}, region.EU.Endpoint())
}

func TestLookup(t *testing.T) {
	for name, want := range map[string]region.Region{"na": region.NA, "EU": region.EU, " fe\n": region.FE, "Na": region.NA} {
		got, err := region.Lookup(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	for _, bad := range []string{"", "us", "apac", "north america", "lwatest"} {
		_, err := region.Lookup(bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "want na, eu or fe")
	}
}

func TestFlag(t *testing.T) {
	fs := flag.NewFlagSet("tv", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := region.NA
	fs.Var(&r, "region", "Login with Amazon region")
	require.NoError(t, fs.Parse([]string{"-region", "fe"}))
	assert.Equal(t, region.FE, r)
	assert.Equal(t, "fe", fs.Lookup("region").Value.String())
	require.ErrorContains(t, fs.Parse([]string{"-region", "mars"}), `unknown Login with Amazon region "mars"`)
	assert.Equal(t, region.FE, r, "a failed Set leaves the region")
	assert.Equal(t, "eu", region.EU.String())
}
