package devicelink_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-lwa/lwa/examples/devicelink"
	"github.com/go-lwa/lwa/region"
)

// readmeTV is the TV of README.md ("TVs and devices"), compiled here (it talks to
// Amazon, so no test runs it; ExampleClient_Link runs the same flow against
// lwatest).
func readmeTV(ctx context.Context, tvClientID, meURL string) error {
	tv := &devicelink.Client{ClientID: tvClientID, Region: region.NA}
	tok, err := tv.Link(ctx, func(cp devicelink.CodePair) {
		fmt.Printf("To sign in, open %s and enter the code %s\n", cp.VerificationURI, cp.UserCode)
	})
	if errors.Is(err, devicelink.ErrDenied) || errors.Is(err, devicelink.ErrExpired) {
		return err // tell the viewer; offer to start again
	}
	if err != nil {
		return err
	}
	body, err := devicelink.CallAPI(ctx, http.DefaultClient, meURL, tok.AccessToken)
	if err != nil {
		return err
	}
	fmt.Printf("signed in: %s\n", body)
	return nil
}

var _ = readmeTV
