package devicelink_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/go-lwa/lwa/examples/devicelink"
	"github.com/go-lwa/lwa/internal/chrometest"
	"github.com/go-lwa/lwa/lwatest"
)

// linkResult is what the TV's Link returned.
type linkResult struct {
	tok *oauth2.Token
	err error
}

// startTV runs the TV's Link in the background, on the real clock, and
// returns the code pair it shows and where its result will arrive.
func startTV(ctx context.Context, t *testing.T, tv *devicelink.Client) (devicelink.CodePair, <-chan linkResult) {
	t.Helper()
	shown := make(chan devicelink.CodePair, 1)
	done := make(chan linkResult, 1)
	go func() {
		tok, err := tv.Link(ctx, func(cp devicelink.CodePair) { shown <- cp })
		done <- linkResult{tok, err}
	}()
	select {
	case cp := <-shown:
		return cp, done
	case res := <-done:
		t.Fatalf("the TV stopped before showing a code: %v", res.err)
	case <-ctx.Done():
		t.Fatal("the TV showed no code")
	}
	panic("unreachable")
}

func waitTV(ctx context.Context, t *testing.T, done <-chan linkResult) linkResult {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-ctx.Done():
		t.Fatal("the TV never finished polling")
	}
	panic("unreachable")
}

// TestBrowserCodeEntry runs the TV's whole sign-in with the customer in
// real headless Chromium: the TV shows a code and polls (every second, on
// the real clock); the customer opens the verification page, mistypes the
// code, types it again, allows the TV; the TV gets its token and calls the
// API. Then a second TV's code is denied.
func TestBrowserCodeEntry(t *testing.T) {
	srv := lwatest.Start(t)
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true, Name: "Living-room TV"})
	srv.SetCustomer(ada)
	srv.SetCodePairTiming(10*time.Minute, time.Second)
	me, stop := newAPI(srv, tvID)
	t.Cleanup(stop)
	tv := &devicelink.Client{ClientID: tvID, Region: srv.Region(), HTTPClient: srv.Client()}

	bctx := chrometest.Start(t, 90*time.Second, 700, 700)
	ctx := bctx // the TV runs as long as the browser
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(bctx, actions...), name)
	}
	text := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID(id), chromedp.NodeVisible))
		require.NoError(t, err, "text of #%s", id)
		return v
	}

	// 1. The TV shows its code and starts polling.
	cp, done := startTV(ctx, t, tv)
	require.Equal(t, srv.CodeEntryURL(), cp.VerificationURI)

	// 2. The customer opens the page and mistypes the code.
	step("open the page", chromedp.Navigate(cp.VerificationURI), chromedp.WaitVisible(chromedp.ID("user_code")))
	assert.Equal(t, "Ada Lovelace", text("customer"))
	step("a wrong code", chromedp.SendKeys(chromedp.ID("user_code"), "zzzz22"), chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("error")))
	assert.Contains(t, text("error"), "That code is not valid.")

	// 3. The right code, typed in lower case: the consent question.
	step("the right code", chromedp.SetValue(chromedp.ID("user_code"), strings.ToLower(cp.UserCode)),
		chromedp.Click(chromedp.ID("continue")), chromedp.WaitVisible(chromedp.ID("approve")))
	assert.Equal(t, "Living-room TV would like to access your name and email address.", text("ask"))
	assert.Equal(t, cp.UserCode, text("code"))

	// 4. Allow: the page sends the customer back to the TV, which gets
	// its token at its next poll and calls the API with it.
	step("allow", chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("result")))
	assert.Contains(t, text("result"), "Your device is now linked to your Amazon account.")
	res := waitTV(ctx, t, done)
	require.NoError(t, res.err)
	b, err := devicelink.CallAPI(ctx, srv.Client(), me, res.tok.AccessToken)
	require.NoError(t, err)
	assert.JSONEq(t, `{"user_id":"`+ada.UserID+`","email":"ada@example.com","name":"Ada Lovelace","postal_code":""}`, string(b))

	// 5. Another TV; this time the customer denies it.
	cp2, done2 := startTV(ctx, t, tv)
	step("open the page again", chromedp.Navigate(cp2.VerificationURI), chromedp.WaitVisible(chromedp.ID("user_code")),
		chromedp.SendKeys(chromedp.ID("user_code"), cp2.UserCode), chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("deny")))
	step("deny", chromedp.Click(chromedp.ID("deny")), chromedp.WaitVisible(chromedp.ID("result")))
	assert.Contains(t, text("result"), "You denied access.")
	require.ErrorIs(t, waitTV(ctx, t, done2).err, devicelink.ErrDenied)

	// The page was served as a browser uses it: 2 GETs and 5 POSTs.
	methods := map[string]int{}
	for _, c := range srv.Calls(lwatest.EndpointCodeEntry) {
		methods[c.Method]++
	}
	assert.Equal(t, map[string]int{"GET": 2, "POST": 5}, methods)
}
