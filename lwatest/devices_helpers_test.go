package lwatest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/lwatest"
)

// Code-based linking: two device clients and the web app of
// oauth_helpers_test.go.
const (
	tvID    = "amzn1.application-oa2-client.tv000000000000000"
	otherTV = "amzn1.application-oa2-client.tv111111111111111"
)

// newDeviceServer starts a fake with the two apps of newAuthServer, two
// device clients (the TV with a name on the pages) and Ada as the customer.
func newDeviceServer(t *testing.T) *lwatest.Server {
	t.Helper()
	srv := newAuthServer(t)
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true, Name: "Ada's TV"})
	srv.RegisterApp(lwatest.App{ClientID: otherTV, Device: true})
	return srv
}

// pair is the code-pair endpoint's success body.
type pair struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
}

// postForm posts form to path on the fake.
func postForm(t *testing.T, srv *lwatest.Server, path string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	return readAnswer(t, resp)
}

// codePairForm is the TV's code-pair request for scope.
func codePairForm(scope string) url.Values {
	return url.Values{"response_type": {"device_code"}, "client_id": {tvID}, "scope": {scope}}
}

// newPair asks for a code pair for the TV with scope.
func newPair(t *testing.T, srv *lwatest.Server, scope string) pair {
	t.Helper()
	a := postForm(t, srv, "/auth/o2/create/codepair", codePairForm(scope))
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	var p pair
	require.NoError(t, json.Unmarshal([]byte(a.Body), &p))
	return p
}

// poll is Amazon's device token request for p.
func poll(t *testing.T, srv *lwatest.Server, p pair) answer {
	t.Helper()
	return postToken(t, srv, pollForm(p), nil)
}

func pollForm(p pair) url.Values {
	return url.Values{"grant_type": {"device_code"}, "device_code": {p.DeviceCode}, "user_code": {p.UserCode}}
}

// requirePollError checks a 400 error answer of a device poll.
func requirePollError(t *testing.T, a answer, code string) {
	t.Helper()
	requireOAuthError(t, a, http.StatusBadRequest, code)
}
