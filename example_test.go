package lwa_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echov5 "github.com/labstack/echo/v5"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/fiberv3lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

// The LWA client ID of the app (its Security Profile's client ID).
const clientID = "amzn1.application-oa2-client.example"

// alice is the customer the examples' tokens are issued for.
var alice = core.Profile{
	UserID:     "amzn1.account.ALICE",
	Email:      "alice@example.com",
	Name:       "Alice",
	PostalCode: "98109",
}

// Protect a Gin route. In production, Require() takes the client ID from
// LWA_CLIENT_ID and asks Amazon; here a fake LWA server stands in for Amazon.
func Example_gin() {
	srv := lwatest.NewServer()
	defer srv.Close()
	token := srv.Issue(clientID, alice)

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginlwa.Require(core.WithClientID(clientID), core.WithEndpoint(srv.URL)))
	r.GET("/me", func(c *gin.Context) {
		p, _ := ginlwa.Profile(c)
		c.JSON(http.StatusOK, p)
	})

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)

	var p core.Profile
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Printf("%d %+v\n", w.Code, p)
	// Output: 200 {UserID:amzn1.account.ALICE Email:alice@example.com Name:Alice PostalCode:98109}
}

// Protect an Echo route, sharing one verifier (and its cache) through New.
func Example_echo() {
	srv := lwatest.NewServer()
	defer srv.Close()
	token := srv.Issue(clientID, alice)

	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	e := echo.New()
	e.GET("/me", func(c echo.Context) error {
		p, _ := echolwa.Profile(c)
		return c.JSON(http.StatusOK, p)
	}, echolwa.New(v))

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)

	var p core.Profile
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Printf("%d %+v\n", w.Code, p)
	// Output: 200 {UserID:amzn1.account.ALICE Email:alice@example.com Name:Alice PostalCode:98109}
}

// Protect a Fiber route. The profile is also in c.UserContext() for code
// that only takes a context.Context.
func Example_fiber() {
	srv := lwatest.NewServer()
	defer srv.Close()
	token := srv.Issue(clientID, alice)

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(fiberlwa.Require(core.WithClientID(clientID), core.WithEndpoint(srv.URL)))
	app.Get("/me", func(c *fiber.Ctx) error {
		p, _ := core.FromContext(c.UserContext())
		return c.JSON(p)
	})

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("x-amz-access-token", token)
	resp, err := app.Test(req, -1)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()

	var p core.Profile
	_ = json.NewDecoder(resp.Body).Decode(&p)
	fmt.Printf("%d %+v\n", resp.StatusCode, p)
	// Output: 200 {UserID:amzn1.account.ALICE Email:alice@example.com Name:Alice PostalCode:98109}
}

// Protect an Echo v5 route. A rejection goes to Echo's HTTPErrorHandler,
// whose default answers with the status and JSON body of the error table.
func Example_echoV5() {
	srv := lwatest.NewServer()
	defer srv.Close()
	token := srv.Issue(clientID, alice)

	e := echov5.New()
	e.Use(echov5lwa.Require(core.WithClientID(clientID), core.WithEndpoint(srv.URL)))
	e.GET("/me", func(c *echov5.Context) error {
		p, ok := echov5lwa.Profile(c)
		if !ok {
			return c.NoContent(http.StatusNoContent)
		}
		return c.JSON(http.StatusOK, p)
	})

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)

	var p core.Profile
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Printf("%d %+v\n", w.Code, p)

	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/me", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 {UserID:amzn1.account.ALICE Email:alice@example.com Name:Alice PostalCode:98109}
	// 400 {"error":"invalid_request","error_description":"the request carries no access token"}
}

// Protect a Fiber v3 route. The profile is also in c.Context() for code
// that only takes a context.Context.
func Example_fiberV3() {
	srv := lwatest.NewServer()
	defer srv.Close()
	token := srv.Issue(clientID, alice)

	v, err := core.NewVerifier(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	app := fiberv3.New()
	app.Get("/me", fiberv3lwa.New(v), func(c fiberv3.Ctx) error {
		p, ok := fiberv3lwa.Profile(c)
		if !ok {
			return c.SendStatus(fiberv3.StatusNoContent)
		}
		return c.JSON(p)
	})

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("x-amz-access-token", token)
	resp, err := app.Test(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()

	var p core.Profile
	_ = json.NewDecoder(resp.Body).Decode(&p)
	fmt.Printf("%d %+v\n", resp.StatusCode, p)
	// Output: 200 {UserID:amzn1.account.ALICE Email:alice@example.com Name:Alice PostalCode:98109}
}

// Protect a net/http handler; the middleware works with http.ServeMux, chi,
// gorilla/mux or any router built on net/http.
func Example_netHTTP() {
	srv := lwatest.NewServer()
	defer srv.Close()
	token := srv.Issue(clientID, alice)

	mux := http.NewServeMux()
	protect := stdlwa.Require(core.WithClientID(clientID), core.WithEndpoint(srv.URL))
	mux.Handle("/me", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := stdlwa.Profile(r)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p)
	})))

	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)

	var p core.Profile
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Printf("%d %+v\n", w.Code, p)

	// Without a token, the request never reaches the handler.
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/me", nil))
	var rejection struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &rejection)
	fmt.Println(w.Code, rejection.Error)
	// Output:
	// 200 {UserID:amzn1.account.ALICE Email:alice@example.com Name:Alice PostalCode:98109}
	// 400 invalid_request
}
