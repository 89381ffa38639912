// Package chrometest starts headless Chromium for this module's browser
// tests (the demo's sign-in, the TV's code entry), through chromedp. A
// missing browser fails the test with what to install, never a skip.
package chrometest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Find returns the browser to drive: $LWA_CHROME, or chromium,
// chromium-browser, google-chrome, google-chrome-stable on PATH.
func Find() (string, error) {
	if p := os.Getenv("LWA_CHROME"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("not found")
}

// Start starts a headless browser with a window of width × height, a fresh
// profile in a temporary directory and no background networking, and
// returns its context, ended (and the browser stopped) after timeout or when
// the test ends.
func Start(t testing.TB, timeout time.Duration, width, height int) context.Context {
	t.Helper()
	chrome, err := Find()
	if err != nil {
		t.Fatal("no Chromium found: install it (apt-get install chromium); .ci/run does this. " +
			"Or point LWA_CHROME at a Chrome or Chromium binary.")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
		cancel()
	})
	return bctx
}
