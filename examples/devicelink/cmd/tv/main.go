// Command tv is a small "TV" that signs its viewer in with Amazon through
// code-based linking, then calls a protected API with the token.
//
//	tv -client-id amzn1.application-oa2-client.… -region eu -api https://api.example/me
//	tv -lwa http://127.0.0.1:PORT -client-id … -api http://127.0.0.1:8080/me   # a fake Amazon (lwatest)
//
// It shows the user code and the address to open on a phone or laptop,
// polls Amazon until the viewer has entered the code (package devicelink),
// then sends GET -api with "Authorization: Bearer <access token>" and
// prints the answer. It never prints a token.
//
// Flags:
//
//	-client-id  the client ID of the security profile's "Other devices and
//	            platforms" (default: $LWA_CLIENT_ID)
//	-region     na, eu or fe: Amazon's region to sign in with (default: $LWA_REGION, else na)
//	-lwa        base URL of a fake Login with Amazon (lwatest) instead of a region
//	-scope      scopes to ask for, space-separated (default "profile")
//	-api        the protected API to call (required)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-lwa/lwa/examples/devicelink"
	"github.com/go-lwa/lwa/region"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "tv:", err)
		os.Exit(1)
	}
}

// run is the TV; hc, when not nil, sends its requests (tests pass the
// fake's client).
func run(ctx context.Context, args []string, out io.Writer, hc *http.Client) error {
	fs := flag.NewFlagSet("tv", flag.ContinueOnError)
	fs.SetOutput(out)
	r := region.NA
	if env := os.Getenv("LWA_REGION"); env != "" {
		if err := r.Set(env); err != nil {
			return fmt.Errorf("LWA_REGION: %w", err)
		}
	}
	fs.Var(&r, "region", "Amazon's region to sign in with: na, eu or fe (default $LWA_REGION, else na)")
	clientID := fs.String("client-id", os.Getenv("LWA_CLIENT_ID"), `client ID of the security profile's "Other devices and platforms"`)
	fake := fs.String("lwa", "", "base URL of a fake Login with Amazon (lwatest) to use instead of -region")
	scope := fs.String("scope", "profile", "scopes to ask for, space-separated")
	api := fs.String("api", "", "URL of the protected API to call with the token (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *clientID == "":
		return errors.New("no client ID: set -client-id or LWA_CLIENT_ID")
	case *api == "":
		return errors.New("no API to call: set -api (for the demo: http://127.0.0.1:8080/me)")
	}
	if *fake != "" {
		u, err := url.Parse(*fake)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-lwa %q: want a base URL such as http://127.0.0.1:PORT", *fake)
		}
		base := strings.TrimSuffix(*fake, "/")
		r = region.Region{
			Name:        "fake",
			AuthURL:     base + "/ap/oa",
			TokenURL:    base + "/auth/o2/token",
			CodePairURL: base + "/auth/o2/create/codepair",
			APIURL:      base,
		}
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}

	tv := &devicelink.Client{ClientID: *clientID, Scopes: strings.Fields(*scope), Region: r, HTTPClient: hc}
	fmt.Fprintf(out, "tv: signing in with Login with Amazon (%s)\n", r.CodePairURL)
	tok, err := tv.Link(ctx, func(cp devicelink.CodePair) {
		fmt.Fprintln(out)
		fmt.Fprintf(out, "  To sign in, open %s\n", cp.VerificationURI)
		fmt.Fprintf(out, "  and enter the code  %s\n", cp.UserCode)
		fmt.Fprintln(out)
		fmt.Fprintf(out, "tv: waiting for you (the code expires in %v; asking every %v)\n", cp.ExpiresIn, cp.Interval)
	})
	switch {
	case errors.Is(err, devicelink.ErrDenied):
		return errors.New("you denied the TV access; start again to sign in")
	case errors.Is(err, devicelink.ErrExpired):
		return errors.New("the code expired before it was entered; start again for a new code")
	case err != nil:
		return err
	}
	fmt.Fprintln(out, "tv: signed in")

	body, err := devicelink.CallAPI(ctx, hc, *api, tok.AccessToken)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tv: GET %s answered 200:\n%s\n", *api, strings.TrimSpace(string(body)))
	return nil
}
