package audit_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberlogger "github.com/gofiber/fiber/v2/middleware/logger"
	fiberrecover "github.com/gofiber/fiber/v2/middleware/recover"
	fiberv3 "github.com/gofiber/fiber/v3"
	fiberv3logger "github.com/gofiber/fiber/v3/middleware/logger"
	fiberv3recover "github.com/gofiber/fiber/v3/middleware/recover"
	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
	echov5 "github.com/labstack/echo/v5"
	echov5mw "github.com/labstack/echo/v5/middleware"
	"go.uber.org/goleak"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/echolwa"
	"github.com/go-lwa/lwa/echov5lwa"
	"github.com/go-lwa/lwa/fiberlwa"
	"github.com/go-lwa/lwa/fiberv3lwa"
	"github.com/go-lwa/lwa/ginlwa"
	"github.com/go-lwa/lwa/internal/conformance"
	"github.com/go-lwa/lwa/lwatest"
	"github.com/go-lwa/lwa/stdlwa"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, conformance.FasthttpLeakOptions()...)
}

const (
	clientID      = "amzn1.application-oa2-client.audit"
	otherClientID = "amzn1.application-oa2-client.someone-else"
	route         = "/p"
)

// records captures log output, one entry per Write: slog's handlers write
// each record in one call.
type records struct {
	mu   sync.Mutex
	recs []string
}

func (r *records) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, string(p))
	return len(p), nil
}

func (r *records) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.recs...)
}

// errs collects what a custom error handler received.
type errs struct {
	mu   sync.Mutex
	seen []error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, err)
}

func (e *errs) take() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.seen
	e.seen = nil
	return s
}

// adapter serves route, protected by one adapter's New(v, cfg) with a
// custom error handler that records the error it receives, behind the
// framework's own logging (to fw) and recovery middleware. It returns the
// base URL; the server stops when the test ends.
type adapter struct {
	name  string
	serve func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string
}

// reply is the protected handler's body.
func reply(p core.Profile, ok bool) []byte {
	return fmt.Appendf(nil, `{"ok":%v,"user_id":%q,"name":%q}`, ok, p.UserID, p.Name)
}

// listen returns a loopback listener.
func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveHTTP serves h with net/http until the test ends.
func serveHTTP(t *testing.T, h http.Handler, fw io.Writer) string {
	ln := listen(t)
	srv := &http.Server{Handler: h, ErrorLog: log.New(fw, "http: ", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

var adapters = []adapter{
	{"stdlwa", func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string {
		mw := stdlwa.New(v, stdlwa.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, e *core.Error) {
			got.add(e)
			core.WriteError(w, e)
		}})
		mux := http.NewServeMux()
		mux.Handle(route, mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := stdlwa.Profile(r)
			w.Header().Set("Content-Type", "application/json")
			w.Write(reply(p, ok))
		})))
		return serveHTTP(t, mux, fw)
	}},
	{"ginlwa", func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string {
		r := gin.New()
		r.Use(gin.LoggerWithWriter(fw), gin.RecoveryWithWriter(fw))
		r.Any(route, ginlwa.New(v, ginlwa.Config{ErrorHandler: func(c *gin.Context, e *core.Error) {
			got.add(e)
		}}), func(c *gin.Context) {
			p, ok := ginlwa.Profile(c)
			c.Data(http.StatusOK, "application/json", reply(p, ok))
		})
		return serveHTTP(t, r, fw)
	}},
	{"echolwa", func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string {
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		e.Logger.SetOutput(fw)
		// Echo's own request logger logs through slog.Default, which the
		// audit captures; the legacy one writes to fw.
		e.Use(echomw.RequestLogger(), echomw.LoggerWithConfig(echomw.LoggerConfig{Output: fw}), echomw.Recover())
		e.HTTPErrorHandler = func(err error, c echo.Context) {
			got.add(err)
			e.DefaultHTTPErrorHandler(err, c)
		}
		e.Any(route, func(c echo.Context) error {
			p, ok := echolwa.Profile(c)
			return c.Blob(http.StatusOK, "application/json", reply(p, ok))
		}, echolwa.New(v))
		return serveHTTP(t, e, fw)
	}},
	{"fiberlwa", func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string {
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Use(fiberlogger.New(fiberlogger.Config{
			Output: fw,
			// The default format without ${time}, whose refresher goroutine
			// never stops; with the full URL, the response body and the
			// challenge header.
			Format: "${status} | ${latency} | ${ip} | ${method} | ${url} | ${error} | ${respHeader:WWW-Authenticate} | ${resBody}\n",
		}), fiberrecover.New())
		app.All(route, fiberlwa.New(v, fiberlwa.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
			got.add(err)
			e := core.AsError(err)
			e.SetHeaders(c.Set)
			return c.Status(e.Status).Send(e.Body())
		}}), func(c *fiber.Ctx) error {
			p, ok := fiberlwa.Profile(c)
			c.Set("Content-Type", "application/json")
			return c.Send(reply(p, ok))
		})
		ln := listen(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			app.Listener(ln)
		}()
		t.Cleanup(func() {
			if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
				t.Errorf("fiber shutdown: %v", err)
			}
			<-done
		})
		return "http://" + ln.Addr().String()
	}},
	{"echov5lwa", func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string {
		e := echov5.New()
		// Echo v5 logs through its *slog.Logger: its request logger (which
		// logs the error the middleware returned) and its recovery.
		e.Logger = slog.New(slog.NewTextHandler(fw, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e.Use(echov5mw.RequestLogger(), echov5mw.Recover())
		e.HTTPErrorHandler = func(c *echov5.Context, err error) {
			// The request logger (HandleError) calls it first, then Echo
			// again with the same error once the answer is written.
			if r, _ := echov5.UnwrapResponse(c.Response()); r != nil && r.Committed {
				return
			}
			got.add(err)
			echov5.DefaultHTTPErrorHandler(true)(c, err) // true: the error's text in the body too
		}
		e.Any(route, func(c *echov5.Context) error {
			p, ok := echov5lwa.Profile(c)
			return c.Blob(http.StatusOK, "application/json", reply(p, ok))
		}, echov5lwa.New(v))
		return serveHTTP(t, e, fw)
	}},
	{"fiberv3lwa", func(t *testing.T, v *core.Verifier, fw io.Writer, got *errs) string {
		// The custom handler hands the rejection on to the app's
		// ErrorHandler, which logs it (the logger's ${error}) and renders it
		// with c.JSON: the rejection marshals to the table's body, and
		// carries its status as a *fiber.Error.
		app := fiberv3.New(fiberv3.Config{ErrorHandler: func(c fiberv3.Ctx, err error) error {
			var fe *fiberv3.Error
			if !errors.As(err, &fe) {
				return fiberv3.DefaultErrorHandler(c, err)
			}
			return c.Status(fe.Code).JSON(err)
		}})
		app.Use(fiberv3logger.New(fiberv3logger.Config{
			Stream: fw,
			// Without ${time}, whose refresher goroutine never stops; with
			// the full URL, the error, the response body and the challenge
			// header.
			Format: "${status} | ${latency} | ${ip} | ${method} | ${url} | ${error} | ${respHeader:WWW-Authenticate} | ${resBody}\n",
		}), fiberv3recover.New())
		app.All(route, fiberv3lwa.New(v, fiberv3lwa.Config{ErrorHandler: func(c fiberv3.Ctx, err error) error {
			got.add(err)
			return err
		}}), func(c fiberv3.Ctx) error {
			p, ok := fiberv3lwa.Profile(c)
			c.Set("Content-Type", "application/json")
			return c.Send(reply(p, ok))
		})
		ln := listen(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			app.Listener(ln, fiberv3.ListenConfig{DisableStartupMessage: true})
		}()
		t.Cleanup(func() {
			if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
				t.Errorf("fiber v3 shutdown: %v", err)
			}
			<-done
		})
		return "http://" + ln.Addr().String()
	}},
}

// newToken returns a random token that looks like an LWA access token.
func newToken(n int) string {
	b := make([]byte, n*3/4+3)
	rand.Read(b)
	return ("Atza|" + base64.RawURLEncoding.EncodeToString(b))[:n]
}

// row is one row of the error table: what it answers, and its setup, which
// prepares the upstream and returns the tokens to send (the first by the
// source under test, the second, if any, by another header).
type row struct {
	name   string
	status int
	code   string
	setup  func(srv *lwatest.Server) []string
}

func issue(opts ...lwatest.TokenOption) func(*lwatest.Server) []string {
	return func(srv *lwatest.Server) []string {
		return []string{srv.Issue(clientID, core.Profile{Name: "Audit"}, opts...)}
	}
}

var rows = []row{
	{"no token", 400, core.CodeInvalidRequest, func(*lwatest.Server) []string { return nil }},
	{"two different tokens", 400, core.CodeInvalidRequest, func(srv *lwatest.Server) []string {
		return []string{srv.Issue(clientID, core.Profile{}), srv.Issue(clientID, core.Profile{})}
	}},
	{"malformed: oversized", 400, core.CodeInvalidRequest, func(*lwatest.Server) []string { return []string{newToken(3000)} }},
	{"malformed: non-ASCII byte", 400, core.CodeInvalidRequest, func(*lwatest.Server) []string {
		t := newToken(405)
		return []string{t[:200] + "\xc3\xa9" + t[200:]}
	}},
	{"malformed: refresh token", 400, core.CodeInvalidToken, func(*lwatest.Server) []string {
		return []string{"Atzr|" + newToken(405)[5:]}
	}},
	{"invalid: unknown", 400, core.CodeInvalidToken, func(*lwatest.Server) []string { return []string{newToken(405)} }},
	{"invalid: revoked", 400, core.CodeInvalidToken, func(srv *lwatest.Server) []string {
		tok := srv.Issue(clientID, core.Profile{})
		srv.Revoke(tok)
		return []string{tok}
	}},
	{"expired", 400, core.CodeInvalidToken, func(srv *lwatest.Server) []string {
		tok := srv.Issue(clientID, core.Profile{})
		srv.Expire(tok)
		return []string{tok}
	}},
	{"insufficient scope", 401, core.CodeInsufficientScope, issue(lwatest.WithScopes())},
	{"other app's token", 404, core.CodeNotFound, func(srv *lwatest.Server) []string {
		return []string{srv.Issue(otherClientID, core.Profile{})}
	}},
	{"upstream 500", 502, core.CodeServerError, func(srv *lwatest.Server) []string {
		srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Status: 500})
		return issue()(srv)
	}},
	{"upstream non-JSON", 502, core.CodeServerError, func(srv *lwatest.Server) []string {
		srv.Fail(lwatest.EndpointProfile, lwatest.Failure{Body: "<html><body>Service Unavailable</body></html>", ContentType: "text/html"})
		return issue()(srv)
	}},
	{"upstream hang", 504, core.CodeServerError, func(srv *lwatest.Server) []string {
		srv.Fail(lwatest.EndpointTokenInfo, lwatest.Failure{Hang: true})
		return issue()(srv)
	}},
	{"success", 200, "", issue()},
}

// deliveries are the ways the first token travels. The query source puts
// the token in the URL, which request loggers record by design (Gin's and
// Echo's log the URL with its query): for it only the library's own log
// records are audited, and SECURITY.md tells users to turn it off.
var deliveries = []string{"authorization", "x-amz-access-token", "query"}

// request builds the request carrying tokens by delivery.
func request(base, delivery string, tokens []string) *http.Request {
	u := base + route
	if len(tokens) > 0 && delivery == "query" {
		u += "?" + url.Values{"access_token": {tokens[0]}}.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		panic(err)
	}
	if len(tokens) > 0 {
		switch delivery {
		case "authorization":
			req.Header.Set("Authorization", "Bearer "+tokens[0])
		case "x-amz-access-token":
			req.Header.Set("x-amz-access-token", tokens[0])
		}
	}
	if len(tokens) > 1 {
		if delivery == "authorization" {
			req.Header.Set("x-amz-access-token", tokens[1])
		} else {
			req.Header.Set("Authorization", "Bearer "+tokens[1])
		}
	}
	return req
}

// leak returns the first 8-byte piece of a secret found in text.
func leak(text string, secrets []string) (string, bool) {
	for _, s := range secrets {
		for i := 0; i+8 <= len(s); i++ {
			if strings.Contains(text, s[i:i+8]) {
				return s[i : i+8], true
			}
		}
	}
	return "", false
}

// errorStrings renders everything an error handler could print of err.
func errorStrings(err error) []string {
	var out []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		out = append(out, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		var ce *core.Error
		if errors.As(e, &ce) {
			out = append(out, ce.Code, ce.Description, ce.RequestID, string(ce.Body()), ce.WWWAuthenticate())
		}
	}
	return out
}

// TestNoSecretInLogsErrorsOrResponses drives every row of the error table
// (and a success) through every adapter and every token source, on real
// loopback servers, with everything logged at Debug level captured, and
// checks that no token, nor any 8-byte piece of one, appears in a log
// record, in the error a custom error handler receives, in a response body
// or in a response header.
func TestNoSecretInLogsErrorsOrResponses(t *testing.T) {
	// One capturing handler, for the verifiers (core.WithLogger) and as
	// slog.Default, which also receives the standard log package's output.
	slogRecs := &records{}
	logger := slog.New(slog.NewJSONHandler(slogRecs, &slog.HandlerOptions{Level: slog.LevelDebug, AddSource: true}))
	prevDefault := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prevDefault) })

	// Gin's global writers (debug messages, route registration).
	fwGlobal := &records{}
	prevMode, prevOut, prevErr := gin.Mode(), gin.DefaultWriter, gin.DefaultErrorWriter
	gin.SetMode(gin.DebugMode)
	gin.DefaultWriter, gin.DefaultErrorWriter = fwGlobal, fwGlobal
	t.Cleanup(func() {
		gin.SetMode(prevMode)
		gin.DefaultWriter, gin.DefaultErrorWriter = prevOut, prevErr
	})

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	checked := 0
	for _, a := range adapters {
		for _, r := range rows {
			for _, delivery := range deliveries {
				t.Run(a.name+"/"+r.name+"/"+delivery, func(t *testing.T) {
					srv := lwatest.NewServer()
					t.Cleanup(srv.Close)
					secrets := r.setup(srv)
					v, err := core.NewVerifier(
						core.WithClientID(clientID),
						core.WithEndpoint(srv.URL),
						core.WithTimeout(300*time.Millisecond),
						core.WithLogger(logger),
					)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { v.Close() })
					fw := &records{}
					got := &errs{}
					base := a.serve(t, v, fw, got)
					libBefore := len(slogRecs.all())

					res, err := client.Do(request(base, delivery, secrets))
					if err != nil {
						t.Fatal(err)
					}
					body, err := io.ReadAll(res.Body)
					res.Body.Close()
					if err != nil {
						t.Fatal(err)
					}

					// The row really is the row.
					if res.StatusCode != r.status {
						t.Fatalf("status %d, want %d; body %s", res.StatusCode, r.status, body)
					}
					if r.status == 200 {
						if !bytes.Contains(body, []byte(`"ok":true`)) {
							t.Fatalf("success without a profile: %s", body)
						}
					} else if !bytes.Contains(body, []byte(`"error":"`+r.code+`"`)) {
						t.Fatalf("body %s, want error %q", body, r.code)
					}
					handled := got.take()
					if (r.status != 200) != (len(handled) == 1) {
						t.Fatalf("the custom error handler saw %d errors: %v", len(handled), handled)
					}
					for _, err := range handled {
						var ce *core.Error
						if !errors.As(err, &ce) || ce.Status != r.status || ce.Code != r.code {
							t.Fatalf("the error handler received %v (%T), want a *core.Error %d %s", err, err, r.status, r.code)
						}
					}
					// The captures are wired: the library logged the
					// rejection at Debug, the framework logged the request.
					recs := slogRecs.all()[libBefore:]
					if r.status != 200 && !strings.Contains(strings.Join(recs, ""), `"msg":"lwa: request rejected"`) {
						t.Fatalf("no Debug record of the rejection captured: %q", recs)
					}
					if a.name != "stdlwa" && len(fw.all()) == 0 {
						t.Fatalf("the framework's request logger wrote nothing")
					}
					if len(secrets) == 0 {
						return // no token: nothing that could leak, the row ran all the same
					}

					where := map[string][]string{
						"response body": {string(body)},
					}
					for k, vs := range res.Header {
						where["response header "+k] = append([]string{k}, vs...)
					}
					for _, err := range handled {
						where["error handler's error"] = append(where["error handler's error"], errorStrings(err)...)
					}
					// The library's own records (its messages start with
					// "lwa:") in every case; every record and the
					// frameworks' own logs when the token is in a header.
					for _, rec := range recs {
						if delivery != "query" || strings.Contains(rec, `"msg":"lwa:`) {
							where["slog record"] = append(where["slog record"], rec)
						}
					}
					if delivery != "query" {
						where["framework log"] = append(fw.all(), fwGlobal.all()...)
					}
					for what, texts := range where {
						for _, text := range texts {
							if piece, ok := leak(text, secrets); ok {
								t.Errorf("%s carries %q, a piece of the token: %q", what, piece, text)
							}
						}
					}
					// A positive control of the detector: the frameworks'
					// request logs record the URL, query token included.
					if delivery == "query" && a.name != "stdlwa" {
						if _, ok := leak(strings.Join(fw.all(), ""), secrets[:1]); !ok {
							t.Errorf("control: the %s request log does not show the query token: %q", a.name, fw.all())
						}
					}
					checked++
				})
			}
		}
	}
	t.Logf("%d adapter × row × source combinations audited with a token", checked)
}
