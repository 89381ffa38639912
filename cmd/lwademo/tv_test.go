package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/examples/devicelink"
	"github.com/go-lwa/lwa/region"
)

var tvLine = regexp.MustCompile(`(?m)^  go run \./examples/devicelink/cmd/tv -lwa (\S+) -client-id (\S+) -api (\S+)$`)

// TestPrintedTVSignsIn runs what the demo prints for a TV: code-based
// linking against the embedded fake, the code entered on its code-entry
// page (as a customer's browser posts it), then the demo's protected API
// with the token.
func TestPrintedTVSignsIn(t *testing.T) {
	d := startDemo(t)
	m := tvLine.FindStringSubmatch(d.out.String())
	require.NotNil(t, m, "the demo prints how to run the TV:\n%s", d.out.String())
	lwa, clientID, api := m[1], m[2], m[3]
	assert.Equal(t, d.base+"/me", api)
	assert.Contains(t, d.out.String(), "enter the code it shows at "+d.fake.CodeEntryURL())

	fake := d.fake
	tv := &devicelink.Client{
		ClientID: clientID,
		Region: region.Region{Name: "fake", AuthURL: lwa + "/ap/oa", TokenURL: lwa + "/auth/o2/token",
			CodePairURL: lwa + "/auth/o2/create/codepair", APIURL: lwa},
		// The fake's clock, not the wall's: no test sleeps out an interval.
		Wait: func(ctx context.Context, dur time.Duration) error { fake.Advance(dur); return ctx.Err() },
	}
	entered := make(chan error, 1)
	tok, err := tv.Link(context.Background(), func(cp devicelink.CodePair) {
		// The customer enters the code on the page it names, and allows.
		resp, err := http.PostForm(cp.VerificationURI, url.Values{"user_code": {cp.UserCode}, "decision": {"approve"}})
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = &url.Error{Op: "POST", URL: cp.VerificationURI, Err: http.ErrNotSupported}
			}
		}
		entered <- err
	})
	require.NoError(t, <-entered)
	require.NoError(t, err)
	body, err := devicelink.CallAPI(context.Background(), d.client, api, tok.AccessToken)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(body), demoCustomer.Name), "the TV reads Ada's profile: %s", body)
}
