package lwatest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// get fetches url and returns its status and decoded JSON body.
func get(rawURL string, header http.Header) (int, map[string]any) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		panic(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func ExampleServer() {
	srv := lwatest.NewServer()
	defer srv.Close()

	tok := srv.Issue("amzn1.application-oa2-client.example", core.Profile{
		UserID: "amzn1.account.EXAMPLE",
		Email:  "alice@example.com",
		Name:   "Alice",
	})

	// What a verifier does (core.WithEndpoint(srv.URL) points it here):
	// ask tokeninfo who the token was issued to...
	status, info := get(srv.URL+"/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil)
	fmt.Println(status, info["aud"], info["user_id"])

	// ...and the profile endpoint whose token it is.
	status, profile := get(srv.URL+"/user/profile", http.Header{"Authorization": {"bearer " + tok}})
	fmt.Println(status, profile["name"], profile["email"])

	srv.Revoke(tok)
	status, info = get(srv.URL+"/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil)
	fmt.Println(status, info["error"])

	// Output:
	// 200 amzn1.application-oa2-client.example amzn1.account.EXAMPLE
	// 200 Alice alice@example.com
	// 400 invalid_token
}

func ExampleServer_Fail() {
	srv := lwatest.NewServer()
	defer srv.Close()
	tok := srv.Issue("amzn1.application-oa2-client.example", core.Profile{UserID: "amzn1.account.EXAMPLE"})

	// Amazon has a bad moment: the next tokeninfo call fails.
	srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{
		Status: http.StatusServiceUnavailable,
		Header: http.Header{"Retry-After": {"1"}},
		Times:  1,
	})
	for range 2 {
		status, info := get(srv.URL+"/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil)
		fmt.Println(status, info["error"], info["aud"])
	}
	fmt.Println(srv.CallCount(lwatest.EndpointTokenInfo), "tokeninfo calls")

	// Output:
	// 503 ServerError <nil>
	// 200 <nil> amzn1.application-oa2-client.example
	// 2 tokeninfo calls
}

func ExampleServer_Advance() {
	srv := lwatest.NewServer()
	defer srv.Close()
	tok := srv.Issue("amzn1.application-oa2-client.example", core.Profile{UserID: "amzn1.account.EXAMPLE"},
		lwatest.WithLifetime(10*time.Minute))

	srv.Advance(10 * time.Minute) // no sleeping: the server's clock moves
	status, info := get(srv.URL+"/auth/o2/tokeninfo?access_token="+url.QueryEscape(tok), nil)
	fmt.Println(status, info["error"])

	// Output:
	// 400 invalid_token
}

func ExampleWithScopes() {
	srv := lwatest.NewServer()
	defer srv.Close()
	tok := srv.Issue("amzn1.application-oa2-client.example",
		core.Profile{UserID: "amzn1.account.EXAMPLE", Email: "alice@example.com", PostalCode: "98052"},
		lwatest.WithScopes("profile:user_id"))

	status, profile := get(srv.URL+"/user/profile", http.Header{"x-amz-access-token": {tok}})
	fmt.Println(status, profile)

	// Output:
	// 200 map[user_id:amzn1.account.EXAMPLE]
}
