package lwatest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/region"
)

// An app configured with any region's URLs runs unchanged against the fake
// through AmazonClient, and the call records tell which region it asked.
func TestAmazonClientPosesAsEveryRegion(t *testing.T) {
	srv := newDeviceServer(t)
	srv.SetConsent(lwatest.AutoApprove)
	hc := srv.AmazonClient()
	post := func(t *testing.T, target string, form url.Values) answer {
		t.Helper()
		resp, err := hc.PostForm(target, form)
		require.NoError(t, err)
		return readAnswer(t, resp)
	}
	for _, r := range region.All() {
		t.Run(r.Name, func(t *testing.T) {
			srv.ResetCalls()
			// A TV signs in with code-based linking ...
			a := post(t, r.CodePairURL, codePairForm("profile"))
			require.Equal(t, http.StatusOK, a.Status, a.Body)
			var p pair
			require.NoError(t, json.Unmarshal([]byte(a.Body), &p))
			assert.Equal(t, srv.CodeEntryURL(), p.VerificationURI, "the page a test's browser can open")
			ta := requireTokens(t, post(t, r.TokenURL, pollForm(p)))

			// ... and the API verifies its token in the same region.
			v, err := core.NewVerifier(core.WithClientID(tvID), core.WithEndpoint(r.APIURL), core.WithHTTPClient(hc))
			require.NoError(t, err)
			defer v.Close()
			got, err := v.Verify(t.Context(), ta.AccessToken)
			require.NoError(t, err)
			assert.Equal(t, ada.UserID, got.UserID)

			// A web app sends its customer to the region's sign-in page.
			browser := *hc
			browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := browser.Get(r.AuthURL + "?" + authParams().Encode())
			require.NoError(t, err)
			redirectedTo(t, readAnswer(t, resp), webRedirect)

			apiHost := strings.TrimPrefix(r.APIURL, "https://")
			signInHost := strings.TrimPrefix(strings.TrimSuffix(r.AuthURL, "/ap/oa"), "https://")
			for ep, host := range map[lwatest.Endpoint]string{
				lwatest.EndpointCodePair:  apiHost,
				lwatest.EndpointToken:     apiHost,
				lwatest.EndpointTokenInfo: apiHost,
				lwatest.EndpointProfile:   apiHost,
				lwatest.EndpointAuthorize: signInHost,
			} {
				calls := srv.Calls(ep)
				require.Len(t, calls, 1, ep)
				assert.Equal(t, [2]string{host, r.Name}, [2]string{calls[0].Host, calls[0].Region}, ep)
			}
		})
	}
}

func TestAmazonClientRefusals(t *testing.T) {
	srv := newDeviceServer(t)
	hc := srv.AmazonClient()
	get := func(target string) (answer, error) {
		resp, err := hc.Get(target)
		if err != nil {
			return answer{}, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, err
	}

	// Pages on the sign-in hosts, the API on the API hosts, as at Amazon.
	for _, target := range []string{
		"https://api.amazon.co.uk/ap/oa",
		"https://api.amazon.com/code",
		"https://eu.account.amazon.com/auth/o2/tokeninfo?access_token=x",
		"https://www.amazon.com/user/profile",
	} {
		a, err := get(target)
		require.NoError(t, err, target)
		requireLWAError(t, a, http.StatusNotFound, "not_found", "")
	}
	assert.Zero(t, srv.CallCount(lwatest.EndpointAuthorize)+srv.CallCount(lwatest.EndpointTokenInfo))

	// Nothing leaves the machine: not another host, not plain http.
	_, err := get("https://example.com/auth/o2/tokeninfo")
	require.ErrorContains(t, err, "example.com is not a Login with Amazon host")
	require.ErrorContains(t, err, "api.amazon.co.jp")
	_, err = get("http://api.amazon.com/auth/o2/tokeninfo")
	require.ErrorContains(t, err, "served on https://api.amazon.com only")
	_, err = get("https://api.amazon.com:8443/auth/o2/tokeninfo")
	require.ErrorContains(t, err, "https://api.amazon.com only")

	// The server's own URL and loopback go through unchanged.
	a, err := get(srv.URL + "/auth/o2/tokeninfo")
	require.NoError(t, err)
	requireMissingToken(t, a)
	c := lastCall(t, srv, lwatest.EndpointTokenInfo)
	assert.Equal(t, [2]string{strings.TrimPrefix(srv.URL, "http://"), ""}, [2]string{c.Host, c.Region})
	a, err = get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/auth/o2/tokeninfo")
	require.NoError(t, err)
	requireMissingToken(t, a)
}

// Region hands the fake's endpoints to code that takes a region.Region.
func TestServerRegion(t *testing.T) {
	srv := newServer(t)
	r := srv.Region()
	assert.Equal(t, region.Region{
		Name:        "lwatest",
		AuthURL:     srv.AuthURL(),
		TokenURL:    srv.TokenURL(),
		CodePairURL: srv.CodePairURL(),
		APIURL:      srv.URL,
	}, r)
	assert.Equal(t, srv.CodePairURL(), r.Endpoint().DeviceAuthURL)
}

// A TLS fake poses as Amazon too.
func TestAmazonClientTLS(t *testing.T) {
	srv := lwatest.NewTLSServer()
	t.Cleanup(srv.Close)
	tok := srv.Issue(clientID, alice)
	resp, err := srv.AmazonClient().Get(region.FE.APIURL + "/auth/o2/tokeninfo?access_token=" + url.QueryEscape(tok))
	require.NoError(t, err)
	a := readAnswer(t, resp)
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	assert.Equal(t, "fe", lastCall(t, srv, lwatest.EndpointTokenInfo).Region)
}
