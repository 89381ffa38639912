// Package lwatest provides a fake Login with Amazon (LWA) server for tests,
// in the spirit of net/http/httptest.
//
// A Server answers the two LWA endpoints a resource server calls to verify an
// access token, shaped like Amazon's documented answers:
//
//	GET /auth/o2/tokeninfo?access_token=<token>
//	GET /user/profile   (token as "Authorization: Bearer", "x-amz-access-token" or ?access_token=)
//
// Tests mint tokens with [Server.Issue], invalidate them with [Server.Revoke],
// [Server.Expire] or by moving the server's clock with [Server.Advance], inject
// upstream trouble (error statuses, malformed bodies, latency, hangs) with
// [Server.Fail] and [Server.SetDelay], and inspect the calls the server
// received with [Server.CallCount] and [Server.Calls].
//
// Point a verifier at the fake with core.WithEndpoint:
//
//	srv := lwatest.NewServer()
//	defer srv.Close()
//
//	tok := srv.Issue("amzn1.application-oa2-client.test", core.Profile{
//		UserID: "amzn1.account.TEST",
//		Email:  "alice@example.com",
//		Name:   "Alice",
//	})
//	v, err := core.NewVerifier(
//		core.WithClientID("amzn1.application-oa2-client.test"),
//		core.WithEndpoint(srv.URL),
//	)
//	// ... v.Verify(ctx, tok) returns Alice's profile.
//
//	srv.Revoke(tok)
//	// ... v.Verify(ctx, tok) now fails with invalid_token (once the cache entry is gone).
//
// In a test, [Start] starts a server that closes itself, and
// [Server.Verifier] returns a verifier for it that closes itself, logs
// nothing, accepts [ClientID], runs its cache on the server's clock and
// forgets a token as soon as Revoke or Expire ends it:
//
//	srv := lwatest.Start(t)
//	v := srv.Verifier(t)
//	tok := srv.Token(core.Profile{Name: "Ada"})
//
// The same Server is also the authorization server a "Sign in with Amazon"
// flow talks to, for testing the client side (golang.org/x/oauth2 works
// with it unchanged):
//
//	GET  /ap/oa          the authorization request; a consent page (Allow / Deny)
//	POST /ap/oa          the consent page's answer: 302 to redirect_uri?code=…&scope=…&state=…
//	POST /auth/o2/token  grant_type=authorization_code (PKCE S256 or plain) or refresh_token
//
// Register the app with [Server.RegisterApp] (client ID, secret or none for a
// public client, allowed redirect URIs), choose who signs in with
// [Server.SetCustomer], and skip the browser with [Server.SetConsent]
// (AutoApprove). Codes are one-time and live [CodeLifetime] on the server's
// clock; refresh tokens rotate. The access tokens the token endpoint returns
// are ordinary issued tokens: tokeninfo and profile answer for them, with the
// profile fields the approved scopes allow. [Server.AuthURL] and
// [Server.TokenURL] give the endpoints for an oauth2.Endpoint.
//
// TVs and other devices without a browser sign in with code-based linking,
// which the Server also runs as Amazon does:
//
//	POST /auth/o2/create/codepair  response_type=device_code, client_id, scope → user_code, device_code,
//	                               verification_uri, expires_in, interval
//	GET  /code, POST /code         the code-entry page: the customer enters the user code, allows or denies
//	POST /auth/o2/token            grant_type=device_code, device_code, user_code → authorization_pending,
//	                               slow_down, expired_token, access_denied, invalid_grant, or the tokens
//
// Register the device's client ID with App.Device set. The customer enters
// codes on the page in a real browser, through [Server.ApproveCode] and
// [Server.DenyCode], or at once with SetConsent(AutoApprove). Expiry and
// polling interval run on the server's clock ([Server.SetCodePairTiming],
// [Server.Advance]); device codes are one-time, and their tokens verify and
// refresh like any other.
//
// [Server.AmazonClient] poses as Amazon in every region: it sends requests
// for www.amazon.com, eu.account.amazon.com, api.amazon.co.uk and the other
// hosts of package region to the server, which records the host and region
// each call asked ([Call.Region]). [Server.Region] gives the server's own
// endpoints as a region.Region.
//
// A Server is safe for concurrent use. Close releases every request the
// server is holding (delayed or hanging answers) and leaks no goroutines.
//
// The fake never sees a real Amazon token and never talks to Amazon.
package lwatest
