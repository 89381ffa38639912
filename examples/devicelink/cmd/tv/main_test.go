package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/proctest"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const tvID = "amzn1.application-oa2-client.tv"

// api serves GET /me behind stdlwa, verifying against srv.
func api(t *testing.T, srv *lwatest.Server) string {
	t.Helper()
	v, err := core.NewVerifier(core.WithClientID(tvID), core.WithEndpoint(srv.URL))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /me", stdlwa.New(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		_ = json.NewEncoder(w).Encode(p)
	})))
	ts := httptest.NewServer(mux)
	t.Cleanup(func() { ts.Close(); _ = v.Close() })
	return ts.URL + "/me"
}

// The TV against a fake Amazon whose customer enters the code on the page
// (here, from another goroutine, as soon as the TV shows it) and a
// protected API: the code, the wait, the profile; never a token.
func TestTV(t *testing.T) {
	srv := lwatest.Start(t)
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true})
	srv.SetCustomer(core.Profile{UserID: "amzn1.account.GRACE", Name: "Grace Hopper", Email: "grace@example.com"})
	srv.SetCodePairTiming(10*time.Minute, time.Second)
	me := api(t, srv)

	out := &proctest.Output{}
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"-lwa", srv.URL + "/", "-client-id", tvID, "-api", me}, out, srv.Client())
	}()
	code := regexp.MustCompile(`enter the code  ([A-Z0-9]{6})\n`)
	var m []string
	require.Eventually(t, func() bool { m = code.FindStringSubmatch(out.String()); return m != nil }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, srv.ApproveCode(m[1]))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the TV did not finish")
	}
	got := out.String()
	assert.Contains(t, got, "To sign in, open "+srv.CodeEntryURL()+"\n")
	assert.Contains(t, got, "the code expires in 10m0s; asking every 1s")
	assert.Contains(t, got, "tv: signed in\n")
	assert.Contains(t, got, `"name":"Grace Hopper"`)
	assert.NotContains(t, got, "Atza|")
	assert.NotContains(t, got, "Atzr|")
}

func TestTVErrors(t *testing.T) {
	srv := lwatest.Start(t)
	srv.RegisterApp(lwatest.App{ClientID: tvID, Device: true})
	srv.SetConsent(lwatest.AutoDeny)
	t.Setenv("LWA_CLIENT_ID", "")
	t.Setenv("LWA_REGION", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-api", "http://x/me"}, "no client ID"},
		{[]string{"-client-id", tvID}, "no API to call"},
		{[]string{"-client-id", tvID, "-api", "http://x/me", "-region", "mars"}, `unknown Login with Amazon region "mars"`},
		{[]string{"-client-id", tvID, "-api", "http://x/me", "-lwa", "127.0.0.1:1"}, "want a base URL"},
		{[]string{"-client-id", tvID, "-api", "http://x/me", "-lwa", srv.URL}, "you denied the TV access"},
		{[]string{"-client-id", "amzn1.application-oa2-client.nobody", "-api", "http://x/me", "-lwa", srv.URL}, "401 invalid_client"},
	} {
		err := run(t.Context(), tc.args, &bytes.Buffer{}, srv.Client())
		require.Error(t, err, strings.Join(tc.args, " "))
		assert.Contains(t, err.Error(), tc.want)
	}
	t.Setenv("LWA_REGION", "apac")
	require.ErrorContains(t, run(t.Context(), []string{"-client-id", tvID, "-api", "http://x/me"}, &bytes.Buffer{}, srv.Client()), "LWA_REGION")
}
