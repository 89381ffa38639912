// Package devicelink signs a TV (or any device without a browser or
// keyboard) in with Amazon through code-based linking, and calls an API
// protected by this module's middleware with the token it gets.
//
// The flow, as Login with Amazon runs it:
//
//  1. The device asks the region's code-pair endpoint for a code pair
//     (response_type=device_code, client_id, scope) and gets a user_code,
//     a device_code, a verification_uri, expires_in and interval.
//  2. It shows the user code and the address; the customer opens the page
//     on a phone or laptop, signs in to Amazon and enters the code.
//  3. Meanwhile the device polls the token endpoint
//     (grant_type=device_code, device_code, user_code), waiting interval
//     between polls: authorization_pending until the customer has entered
//     the code, then the access and refresh tokens.
//  4. It calls its API with "Authorization: Bearer <access token>"; the API
//     verifies the token with core.Verifier (the stdlwa middleware, say).
//
// The polling discipline of [Client.Poll]: the first poll at once (Amazon
// says to start as soon as the code pair arrives), then one every interval;
// on slow_down the interval grows by 5 seconds for good (RFC 8628); a
// server error or a network failure is retried at the next interval; it
// stops with the tokens, or on expired_token ([ErrExpired]), access_denied
// ([ErrDenied]), invalid_grant or any other error, when the code pair
// expires, or when the context ends.
//
// Against Amazon, use a client ID of the security profile's "Other devices
// and platforms" and a region:
//
//	c := &devicelink.Client{ClientID: clientID, Region: region.NA}
//	tok, err := c.Link(ctx, func(cp devicelink.CodePair) {
//		fmt.Printf("Open %s and enter %s\n", cp.VerificationURI, cp.UserCode)
//	})
//
// In tests, lwatest runs the whole flow offline: Region: srv.Region().
package devicelink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/region"
)

// maxBody bounds the answers the client reads.
const maxBody = 1 << 20

// Client runs code-based linking for one device client ID.
type Client struct {
	// ClientID is the client ID of the security profile's "Other devices
	// and platforms" settings.
	ClientID string

	// Scopes are the scopes to ask for; nil means "profile".
	Scopes []string

	// Region gives the code-pair and token endpoints: region.NA, EU or FE,
	// or a fake's (lwatest.Server.Region).
	Region region.Region

	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout.
	HTTPClient *http.Client

	// Wait, if not nil, replaces the wait between two polls: it waits d,
	// or returns ctx's error if ctx ends first. Tests drive a fake clock
	// with it (lwatest.Server.Advance) instead of sleeping.
	Wait func(ctx context.Context, d time.Duration) error
}

// CodePair is the code-pair endpoint's answer: what the device shows, and
// what it polls with. Its DeviceCode is a credential: the String and
// GoString of a CodePair leave it out.
type CodePair struct {
	UserCode        string        // show it
	VerificationURI string        // show it
	DeviceCode      string        // keep it to yourself
	ExpiresIn       time.Duration // the pair's lifetime
	Interval        time.Duration // the wait between two polls
	Expiry          time.Time     // when the pair expires, on the device's clock
}

// String describes the pair without its device code.
func (cp CodePair) String() string {
	return fmt.Sprintf("code %s at %s, expires in %v, poll every %v", cp.UserCode, cp.VerificationURI, cp.ExpiresIn, cp.Interval)
}

// GoString is String, for %#v.
func (cp CodePair) GoString() string { return "devicelink.CodePair{" + cp.String() + "}" }

// Errors that end a link: errors.Is(err, ErrDenied) holds when Amazon
// answered access_denied, errors.Is(err, ErrExpired) when it answered
// expired_token (or AVS's invalid_code_pair), or when the code pair's
// lifetime passed on the device's clock.
var (
	ErrDenied  = errors.New("devicelink: the customer denied the device access")
	ErrExpired = errors.New("devicelink: the code expired before the customer entered it")
)

// Error is an error answer of Login with Amazon: its HTTP status and its
// OAuth error code and description.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("devicelink: Login with Amazon answered %d %s", e.Status, e.Code)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Is reports access_denied as ErrDenied, expired_token and
// invalid_code_pair as ErrExpired.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrDenied:
		return e.Code == "access_denied"
	case ErrExpired:
		return e.Code == "expired_token" || e.Code == "invalid_code_pair"
	}
	return false
}

// transient reports an answer worth polling again for: a server error, or
// too many requests.
func (e *Error) transient() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// Link runs the whole flow: it asks for a code pair, hands it to show (which
// displays the user code and the address), and polls until the customer
// has answered. It returns the tokens, which an oauth2.TokenSource from
// [Client.TokenSource] refreshes.
func (c *Client) Link(ctx context.Context, show func(CodePair)) (*oauth2.Token, error) {
	cp, err := c.RequestCode(ctx)
	if err != nil {
		return nil, err
	}
	show(*cp)
	return c.Poll(ctx, cp)
}

// RequestCode asks the code-pair endpoint for a code pair.
func (c *Client) RequestCode(ctx context.Context) (*CodePair, error) {
	scopes := c.Scopes
	if len(scopes) == 0 {
		scopes = []string{"profile"}
	}
	var body struct {
		UserCode        string `json:"user_code"`
		DeviceCode      string `json:"device_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int64  `json:"expires_in"`
		Interval        int64  `json:"interval"`
	}
	start := time.Now()
	err := c.post(ctx, c.Region.CodePairURL, url.Values{
		"response_type": {"device_code"},
		"client_id":     {c.ClientID},
		"scope":         {strings.Join(scopes, " ")},
	}, &body)
	if err != nil {
		return nil, err
	}
	if body.UserCode == "" || body.DeviceCode == "" || body.VerificationURI == "" || body.ExpiresIn <= 0 {
		return nil, errors.New("devicelink: the code-pair answer lacks user_code, device_code, verification_uri or expires_in")
	}
	interval := time.Duration(body.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 section 3.2's default
	}
	expiresIn := time.Duration(body.ExpiresIn) * time.Second
	return &CodePair{
		UserCode:        body.UserCode,
		VerificationURI: body.VerificationURI,
		DeviceCode:      body.DeviceCode,
		ExpiresIn:       expiresIn,
		Interval:        interval,
		Expiry:          start.Add(expiresIn),
	}, nil
}

// Poll polls the token endpoint for cp until the customer has answered (see
// the package documentation for its discipline).
func (c *Client) Poll(ctx context.Context, cp *CodePair) (*oauth2.Token, error) {
	ctx, cancel := context.WithDeadlineCause(ctx, cp.Expiry, fmt.Errorf("%w (no answer within its lifetime)", ErrExpired))
	defer cancel()
	interval := cp.Interval
	form := url.Values{
		"grant_type":  {"device_code"},
		"device_code": {cp.DeviceCode},
		"user_code":   {cp.UserCode},
	}
	for {
		tok, err := c.token(ctx, form)
		var lwaErr *Error
		switch {
		case err == nil:
			return tok, nil
		case ctx.Err() != nil:
			return nil, context.Cause(ctx) // the caller's cancellation, or ErrExpired
		case !errors.As(err, &lwaErr):
			// The network failed: try again at the next interval.
		case lwaErr.Code == "authorization_pending" || lwaErr.transient():
		case lwaErr.Code == "slow_down":
			interval += 5 * time.Second
		default: // expired_token, access_denied, invalid_grant, …
			return nil, err
		}
		if err := c.wait(ctx, interval); err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, err
		}
	}
}

func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if c.Wait != nil {
		return c.Wait(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// token sends one device token request.
func (c *Client) token(ctx context.Context, form url.Values) (*oauth2.Token, error) {
	var body struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := c.post(ctx, c.Region.TokenURL, form, &body); err != nil {
		return nil, err
	}
	if body.AccessToken == "" {
		return nil, errors.New("devicelink: the token answer has no access_token")
	}
	tok := &oauth2.Token{AccessToken: body.AccessToken, TokenType: body.TokenType, RefreshToken: body.RefreshToken}
	if body.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// post sends form and decodes a 200 answer into out; any other answer is an
// *Error.
func (c *Client) post(ctx context.Context, target string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("devicelink: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("devicelink: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("devicelink: reading the answer of %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return answerError(resp, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("devicelink: the answer of %s is not JSON: %w", target, err)
	}
	return nil
}

// answerError reads an error answer: Amazon's JSON error body when there is
// one.
func answerError(resp *http.Response, body []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	var j struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" && json.Unmarshal(body, &j) == nil {
		e.Code, e.Description = j.Error, j.ErrorDescription
	}
	if e.Code == "" {
		e.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "_"))
	}
	return e
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// TokenSource returns a token source that starts from tok and refreshes it
// at the region's token endpoint with the device's client ID alone (a device
// has no client secret). Use it, or oauth2.NewClient over it, for every
// call after the link.
func (c *Client) TokenSource(ctx context.Context, tok *oauth2.Token) oauth2.TokenSource {
	conf := &oauth2.Config{
		ClientID: c.ClientID,
		Endpoint: oauth2.Endpoint{TokenURL: c.Region.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	return conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, c.httpClient()), tok)
}

// CallAPI sends GET apiURL with "Authorization: Bearer <accessToken>" and
// returns the body of a 200 answer. Any other answer is an *Error with the
// API's error code (this module's middleware answers LWA's error table).
// A nil hc is a client with a 30-second timeout.
func CallAPI(ctx context.Context, hc *http.Client, apiURL, accessToken string) ([]byte, error) {
	if hc == nil {
		hc = (&Client{}).httpClient()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL, nil)
	if err != nil {
		return nil, fmt.Errorf("devicelink: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devicelink: calling the API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("devicelink: reading the API's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answerError(resp, b)
	}
	return b, nil
}
