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
// A Server is safe for concurrent use. Close releases every request the
// server is holding (delayed or hanging answers) and leaks no goroutines.
//
// The fake never sees a real Amazon token and never talks to Amazon.
package lwatest
