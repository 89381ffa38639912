package lwatest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// These helpers use the standard library only (plus goleak). The tests of
// the authorization server (authorize_test.go, oauth_token_test.go) also use
// testify, and its example golang.org/x/oauth2.

const clientID = "amzn1.application-oa2-client.0123456789abcdef"

var (
	alice = core.Profile{
		UserID:     "amzn1.account.ALICE000000000000000000000000",
		Email:      "alice@example.com",
		Name:       "Alice Liddell",
		PostalCode: "98052",
	}
	requestIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// --- assertions ---

func msg(what []any) string {
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprintf(what[0].(string), what[1:]...) + ": "
}

// check reports an error unless cond holds.
func check(t *testing.T, cond bool, what ...any) bool {
	t.Helper()
	if !cond {
		t.Errorf("%scheck failed", msg(what))
	}
	return cond
}

// equal reports an error unless got == want.
func equal[T comparable](t *testing.T, got, want T, what ...any) bool {
	t.Helper()
	if got != want {
		t.Errorf("%sgot %#v, want %#v", msg(what), got, want)
		return false
	}
	return true
}

// mustEqual stops the test unless got == want.
func mustEqual[T comparable](t *testing.T, got, want T, what ...any) {
	t.Helper()
	if !equal(t, got, want, what...) {
		t.FailNow()
	}
}

// deepEqual reports an error unless got and want are deeply equal.
func deepEqual(t *testing.T, got, want any, what ...any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%sgot %#v, want %#v", msg(what), got, want)
	}
}

// matches reports an error unless s matches the regular expression re.
func matches(t *testing.T, s, re string, what ...any) bool {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(s) {
		t.Errorf("%s%q does not match %s", msg(what), s, re)
		return false
	}
	return true
}

// near reports an error unless got is within delta of want.
func near(t *testing.T, got, want, delta float64, what ...any) {
	t.Helper()
	if got < want-delta || got > want+delta {
		t.Errorf("%sgot %v, want %v ± %v", msg(what), got, want, delta)
	}
}

// noErr stops the test on an error.
func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// panics reports an error unless f panics.
func panics(t *testing.T, f func(), what ...any) {
	t.Helper()
	defer func() {
		t.Helper()
		if recover() == nil {
			t.Errorf("%sdid not panic", msg(what))
		}
	}()
	f()
}

// --- requests ---

// answer is one response from the fake, read in full.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a map, stopping the test if it is not JSON.
func (a answer) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.Body), &m); err != nil {
		t.Fatalf("body %q: %v", a.Body, err)
	}
	return m
}

// newServer starts a fake closed at the end of the test.
func newServer(t *testing.T) *lwatest.Server {
	t.Helper()
	srv := lwatest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request to the fake and reads the whole answer.
func do(t *testing.T, srv *lwatest.Server, method, pathAndQuery string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+pathAndQuery, nil)
	noErr(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	noErr(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	noErr(t, err)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// tokenInfo asks tokeninfo about tok, escaped with url.QueryEscape.
func tokenInfo(t *testing.T, srv *lwatest.Server, tok string) answer {
	t.Helper()
	return do(t, srv, http.MethodGet, "/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil)
}

// profileBearer asks the profile endpoint with "Authorization: bearer tok",
// as Amazon's samples do.
func profileBearer(t *testing.T, srv *lwatest.Server, tok string) answer {
	t.Helper()
	return do(t, srv, http.MethodGet, "/user/profile", http.Header{"Authorization": {"bearer " + tok}})
}

// requireLWAError checks an LWA JSON error answer: status, code, the exact
// description when desc is not empty, content type, and a request_id equal to
// the x-amzn-RequestId header.
func requireLWAError(t *testing.T, a answer, status int, code, desc string) {
	t.Helper()
	mustEqual(t, a.Status, status, "status (body %s)", a.Body)
	equal(t, a.Header.Get("Content-Type"), "application/json;charset=UTF-8", "Content-Type")
	m := a.JSON(t)
	equal[any](t, m["error"], code, "error")
	if desc != "" {
		equal[any](t, m["error_description"], desc, "error_description")
	}
	rid := a.Header.Get("x-amzn-RequestId")
	check(t, requestIDRE.MatchString(rid), "x-amzn-RequestId %q", rid)
	equal[any](t, m["request_id"], rid, "request_id")
}

func requireInvalidToken(t *testing.T, a answer) {
	t.Helper()
	requireLWAError(t, a, http.StatusBadRequest, "invalid_token", "The request has an invalid parameter : access_token")
}

func requireMissingToken(t *testing.T, a answer) {
	t.Helper()
	requireLWAError(t, a, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter : access_token")
}

// eventually polls cond until it holds, stopping the test after 10 seconds.
func eventually(t *testing.T, cond func() bool, what ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%scondition never held", msg(what))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// duration is how long the server spent on a finished call.
func duration(t *testing.T, c lwatest.Call) time.Duration {
	t.Helper()
	if c.Start.IsZero() || c.End.IsZero() {
		t.Fatalf("call not finished: %+v", c)
	}
	return c.End.Sub(c.Start)
}

// lastCall returns the most recent call of ep.
func lastCall(t *testing.T, srv *lwatest.Server, ep lwatest.Endpoint) lwatest.Call {
	t.Helper()
	calls := srv.Calls(ep)
	if len(calls) == 0 {
		t.Fatalf("no %s call", ep)
	}
	return calls[len(calls)-1]
}

// statusOf sends a GET and returns the answer's status; unlike do it never
// stops the test, so goroutines may call it.
func statusOf(srv *lwatest.Server, pathAndQuery string, header http.Header) (int, error) {
	req, err := http.NewRequest(http.MethodGet, srv.URL+pathAndQuery, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
