package devicelink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/examples/devicelink"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/region"
)

const tvID = "amzn1.application-oa2-client.livingroomtv0000"

var ada = core.Profile{
	UserID:     "amzn1.account.ADA0000000000000000000000000",
	Email:      "ada@example.com",
	Name:       "Ada Lovelace",
	PostalCode: "98052",
}

// rig is a fake Amazon with the TV registered and Ada signed in, the API,
// and a TV whose waits move the fake's clock instead of sleeping.
type rig struct {
	srv    *lwatest.Server
	me     string
	tv     *devicelink.Client
	waits  []time.Duration
	onWait func(n int) // called after the n-th wait, if set
	skew   func(n int, d time.Duration) time.Duration
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := lwatest.Start(t)
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true, Name: "Living-room TV"})
	srv.SetCustomer(ada)
	me, stop := newAPI(srv, tvID)
	t.Cleanup(stop)
	r := &rig{srv: srv, me: me}
	r.tv = &devicelink.Client{
		ClientID:   tvID,
		Region:     srv.Region(),
		HTTPClient: srv.Client(),
		Wait: func(ctx context.Context, d time.Duration) error {
			r.waits = append(r.waits, d)
			adv := d
			if r.skew != nil {
				adv = r.skew(len(r.waits), d)
			}
			srv.Advance(adv)
			if r.onWait != nil {
				r.onWait(len(r.waits))
			}
			return ctx.Err()
		},
	}
	return r
}

// link runs the TV's flow, recording what it showed.
func (r *rig) link(ctx context.Context) (shown devicelink.CodePair, tok string, err error) {
	t, err := r.tv.Link(ctx, func(cp devicelink.CodePair) { shown = cp })
	if t != nil {
		tok = t.AccessToken
	}
	return shown, tok, err
}

// me calls the API with tok and decodes the profile.
func (r *rig) callMe(t *testing.T, tok string) core.Profile {
	t.Helper()
	b, err := devicelink.CallAPI(t.Context(), http.DefaultClient, r.me, tok)
	require.NoError(t, err)
	var p core.Profile
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

// statuses lists the statuses of the token endpoint's calls.
func (r *rig) statuses() []int {
	var out []int
	for _, c := range r.srv.Calls(lwatest.EndpointToken) {
		out = append(out, c.Status)
	}
	return out
}

// The customer enters the code at once (AutoApprove): the first poll gets
// the tokens, and the API answers with Ada's profile, as the scope allows.
func TestLinkAutoApprove(t *testing.T) {
	r := newRig(t)
	r.srv.SetConsent(lwatest.AutoApprove)
	shown, tok, err := r.link(t.Context())
	require.NoError(t, err)
	assert.Regexp(t, `^[A-Z2-9]{6}$`, shown.UserCode)
	assert.Equal(t, r.srv.CodeEntryURL(), shown.VerificationURI)
	assert.Equal(t, [2]time.Duration{10 * time.Minute, 30 * time.Second}, [2]time.Duration{shown.ExpiresIn, shown.Interval})
	assert.Empty(t, r.waits, "no wait before the first poll")

	p := r.callMe(t, tok)
	assert.Equal(t, core.Profile{UserID: ada.UserID, Email: ada.Email, Name: ada.Name}, p, "scope profile: no postal code")
	assert.Equal(t, "authorization", r.srv.Calls(lwatest.EndpointProfile)[0].TokenFrom, "the API got the token as a bearer header")

	cp := r.srv.Calls(lwatest.EndpointCodePair)
	require.Len(t, cp, 1)
	assert.Equal(t, "none", cp[0].ClientAuth, "the device sends its client_id alone")
	tc := r.srv.Calls(lwatest.EndpointToken)
	require.Len(t, tc, 1)
	assert.Equal(t, [2]string{"device_code", ""}, [2]string{tc[0].GrantType, tc[0].ClientAuth}, "Amazon's device token request")
}

// The TV waits the interval between polls until the customer has entered
// the code.
func TestLinkPendingThenApproved(t *testing.T) {
	r := newRig(t)
	r.tv.Scopes = []string{"profile", "postal_code"}
	var shown devicelink.CodePair
	r.onWait = func(n int) {
		if n == 2 {
			require.NoError(t, r.srv.ApproveCode(shown.UserCode))
		}
	}
	tok, err := r.tv.Link(t.Context(), func(cp devicelink.CodePair) { shown = cp })
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{30 * time.Second, 30 * time.Second}, r.waits)
	assert.Equal(t, []int{400, 400, 200}, r.statuses())
	assert.Equal(t, ada, r.callMe(t, tok.AccessToken), "scopes profile and postal_code")
}

// A TV whose first wait falls short is told to slow down by the fake, and
// waits 5 seconds more from then on.
func TestLinkSlowDown(t *testing.T) {
	r := newRig(t)
	var shown devicelink.CodePair
	r.skew = func(n int, d time.Duration) time.Duration {
		if n == 1 {
			return d - 10*time.Second // its clock ran fast
		}
		return d
	}
	r.onWait = func(n int) {
		if n == 3 {
			require.NoError(t, r.srv.ApproveCode(shown.UserCode))
		}
	}
	_, err := r.tv.Link(t.Context(), func(cp devicelink.CodePair) { shown = cp })
	require.NoError(t, err)
	// pending, slow_down, pending, tokens
	assert.Equal(t, []time.Duration{30 * time.Second, 35 * time.Second, 35 * time.Second}, r.waits)
	assert.Equal(t, []int{400, 400, 400, 200}, r.statuses())

	// The same reaction to a slow_down injected into an answer.
	r.waits, r.skew, r.onWait = nil, nil, nil
	r.srv.ResetCalls()
	r.srv.SetConsent(lwatest.AutoApprove)
	r.srv.Fail(lwatest.EndpointToken, lwatest.Failure{Status: 400, Body: `{"error":"slow_down","error_description":"Slow down."}`, Times: 2})
	_, _, err = r.link(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{35 * time.Second, 40 * time.Second}, r.waits)
}

// Nobody enters the code: the fake answers expired_token after expires_in,
// and the TV stops.
func TestLinkExpired(t *testing.T) {
	r := newRig(t)
	_, _, err := r.link(t.Context())
	require.ErrorIs(t, err, devicelink.ErrExpired)
	var e *devicelink.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, [2]any{400, "expired_token"}, [2]any{e.Status, e.Code})
	assert.Len(t, r.waits, 20, "600 s at 30 s a poll")
	assert.Len(t, r.statuses(), 21)
}

func TestLinkDenied(t *testing.T) {
	r := newRig(t)
	var shown devicelink.CodePair
	r.onWait = func(n int) { require.NoError(t, r.srv.DenyCode(shown.UserCode)) }
	_, err := r.tv.Link(t.Context(), func(cp devicelink.CodePair) { shown = cp })
	require.ErrorIs(t, err, devicelink.ErrDenied)
	assert.NotErrorIs(t, err, devicelink.ErrExpired)
	assert.Len(t, r.waits, 1, "stops at the first access_denied")
}

// A code pair the fake does not know (a wrong user code here) ends the
// link at once with invalid_grant.
func TestLinkInvalidGrant(t *testing.T) {
	r := newRig(t)
	cp, err := r.tv.RequestCode(t.Context())
	require.NoError(t, err)
	cp.UserCode = "WRONG2"
	_, err = r.tv.Poll(t.Context(), cp)
	var e *devicelink.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "invalid_grant", e.Code)
	assert.Empty(t, r.waits)
}

// A server error, or an answer that is not Amazon's, is tried again at the
// next interval.
func TestLinkRetriesServerErrors(t *testing.T) {
	r := newRig(t)
	r.srv.SetConsent(lwatest.AutoApprove)
	r.srv.Fail(lwatest.EndpointToken, lwatest.Failure{Status: 500, Times: 1})
	r.srv.Fail(lwatest.EndpointToken, lwatest.Failure{Status: 503, Body: "<html>busy</html>", ContentType: "text/html", Times: 1})
	_, tok, err := r.link(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []int{500, 503, 200}, r.statuses())
	assert.Equal(t, []time.Duration{30 * time.Second, 30 * time.Second}, r.waits)
	assert.Equal(t, ada.UserID, r.callMe(t, tok).UserID)
}

// The caller's context ends the polling; the code pair's own lifetime, on
// the device's clock, too.
func TestLinkContext(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(t.Context())
	r.onWait = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	_, _, err := r.link(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, r.waits, 2)

	cp, err := r.tv.RequestCode(t.Context())
	require.NoError(t, err)
	r.srv.ResetCalls()
	cp.Expiry = time.Now().Add(-time.Second)
	_, err = r.tv.Poll(t.Context(), cp)
	require.ErrorIs(t, err, devicelink.ErrExpired)
	assert.Zero(t, r.srv.CallCount(lwatest.EndpointToken), "no poll for a pair expired on the device")
}

func TestRequestCodeErrors(t *testing.T) {
	r := newRig(t)
	r.srv.RegisterApp(lwatest.App{ClientID: "amzn1.application-oa2-client.web", RedirectURIs: []string{"https://app.example/cb"}})
	for _, tc := range []struct {
		clientID string
		status   int
		code     string
	}{
		{"amzn1.application-oa2-client.web", 400, "unauthorized_client"}, // a web client ID, not a device's
		{"amzn1.application-oa2-client.nobody", 401, "invalid_client"},
	} {
		tv := *r.tv
		tv.ClientID = tc.clientID
		_, err := tv.RequestCode(t.Context())
		var e *devicelink.Error
		require.ErrorAs(t, err, &e, tc.clientID)
		assert.Equal(t, [2]any{tc.status, tc.code}, [2]any{e.Status, e.Code})
	}
	tv := *r.tv
	tv.Scopes = []string{"alexa:all"}
	_, err := tv.RequestCode(t.Context())
	var e *devicelink.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "invalid_scope", e.Code)

	r.srv.Fail(lwatest.EndpointCodePair, lwatest.Failure{Status: 500, Times: 1})
	_, err = r.tv.RequestCode(t.Context())
	require.ErrorAs(t, err, &e)
	assert.Equal(t, [2]any{500, "ServerError"}, [2]any{e.Status, e.Code})
	r.srv.Fail(lwatest.EndpointCodePair, lwatest.Failure{Body: "not json", Times: 1})
	_, err = r.tv.RequestCode(t.Context())
	require.ErrorContains(t, err, "is not JSON")
	r.srv.Fail(lwatest.EndpointCodePair, lwatest.Failure{Body: `{"user_code":"ABCDEF"}`, Times: 1})
	_, err = r.tv.RequestCode(t.Context())
	require.ErrorContains(t, err, "lacks")
}

// An hour later the access token has expired; the token source refreshes
// it with the device's client ID alone.
func TestRefresh(t *testing.T) {
	r := newRig(t)
	r.srv.SetConsent(lwatest.AutoApprove)
	tok, err := r.tv.Link(t.Context(), func(devicelink.CodePair) {})
	require.NoError(t, err)

	r.srv.Advance(61 * time.Minute)
	_, err = devicelink.CallAPI(t.Context(), http.DefaultClient, r.me, tok.AccessToken)
	var e *devicelink.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, [2]any{400, "invalid_token"}, [2]any{e.Status, e.Code}, "the API rejects the expired token")

	tok.Expiry = time.Now().Add(-time.Second) // x/oauth2 reads the real clock
	fresh, err := r.tv.TokenSource(t.Context(), tok).Token()
	require.NoError(t, err)
	assert.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	assert.NotEqual(t, tok.RefreshToken, fresh.RefreshToken, "refresh tokens rotate")
	assert.Equal(t, ada.Name, r.callMe(t, fresh.AccessToken).Name)
	last := r.srv.Calls(lwatest.EndpointToken)
	assert.Equal(t, [2]string{"refresh_token", "none"}, [2]string{last[len(last)-1].GrantType, last[len(last)-1].ClientAuth})
}

// A TV configured for a region runs unchanged against the fake posing as
// Amazon.
func TestLinkInRegion(t *testing.T) {
	r := newRig(t)
	r.srv.SetConsent(lwatest.AutoApprove)
	r.tv.Region, r.tv.HTTPClient = region.EU, r.srv.AmazonClient()
	_, tok, err := r.link(t.Context())
	require.NoError(t, err)
	assert.Equal(t, ada.UserID, r.callMe(t, tok).UserID)
	for _, ep := range []lwatest.Endpoint{lwatest.EndpointCodePair, lwatest.EndpointToken} {
		c := r.srv.Calls(ep)[0]
		assert.Equal(t, [2]string{"api.amazon.co.uk", "eu"}, [2]string{c.Host, c.Region}, ep)
	}
}

// A CodePair prints without its device code.
func TestCodePairRedacts(t *testing.T) {
	r := newRig(t)
	cp, err := r.tv.RequestCode(t.Context())
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(*cp), fmt.Sprintf("%+v", *cp), fmt.Sprintf("%#v", *cp), fmt.Sprintf("%v", cp)} {
		assert.NotContains(t, s, cp.DeviceCode)
		assert.Contains(t, s, cp.UserCode)
	}
	err = (&devicelink.Error{Status: 400, Code: "invalid_grant", Description: "nope"})
	assert.EqualError(t, err, "devicelink: Login with Amazon answered 400 invalid_grant: nope")
	assert.False(t, errors.Is(err, devicelink.ErrDenied))
}
