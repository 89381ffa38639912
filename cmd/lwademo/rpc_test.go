package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/lwatest"
)

// rpcDemo serves the demo's Connect procedures as the demo does: on a mux
// behind the request log, over HTTP/1.1, with a verifier that tells the log
// how each request was handled.
func rpcDemo(t *testing.T) (fake *lwatest.Server, base string, log *safeBuffer) {
	t.Helper()
	m, err := newMetrics()
	require.NoError(t, err)
	t.Cleanup(m.close)
	fake = lwatest.NewServer()
	t.Cleanup(fake.Close)
	v, err := core.NewVerifier(core.WithClientID(demoClientID), core.WithEndpoint(fake.URL), core.WithObserver(howObserver{m.obs}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	mux := http.NewServeMux()
	mountRPC(mux, v)
	log = &safeBuffer{}
	ts := httptest.NewServer(logRequests(log, mux))
	t.Cleanup(ts.Close)
	return fake, ts.URL, log
}

// rpcWords splits a printed command line into its words, undoing the
// single quotes around tokens.
func rpcWords(line string) []string {
	var words []string
	var cur strings.Builder
	quoted, any := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any {
				words = append(words, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if any {
		words = append(words, cur.String())
	}
	return words
}

// rpcFlag returns the value following name in words ("" if absent).
func rpcFlag(words []string, name string) string {
	for i, w := range words {
		if w == name && i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

var rpcLogHow = regexp.MustCompile(`how=("([^"]*)"|(\S+))`)

// rpcLastHow is the how= of the request log's last line.
func rpcLastHow(t *testing.T, log string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	m := rpcLogHow.FindStringSubmatch(lines[len(lines)-1])
	require.NotNil(t, m, "log line %q", lines[len(lines)-1])
	return m[2] + m[3]
}

// TestRPCPrintedCommands runs every command printRPC prints, in order, as
// the client (examples/rpcclient) or curl would send it, and checks that it
// answers, and is logged, as its comment says.
func TestRPCPrintedCommands(t *testing.T) {
	fake, base, log := rpcDemo(t)
	var out strings.Builder
	printRPC(&out, fake, base)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.True(t, strings.HasPrefix(lines[0], "The same API over Connect"), lines[0])
	lines = lines[1:]
	require.Len(t, lines, 14, "seven commented commands:\n%s", out.String())

	want := []struct {
		code   connect.Code // 0: success
		reason string
		answer map[string]any
		how    string
	}{
		{0, "", map[string]any{"user_id": demoCustomer.UserID, "name": demoCustomer.Name, "email": demoCustomer.Email, "postal_code": demoCustomer.PostalCode}, "verified upstream"},
		{0, "", map[string]any{"user_id": demoCustomer.UserID, "name": demoCustomer.Name, "email": demoCustomer.Email, "postal_code": demoCustomer.PostalCode}, "local cache"},
		{connect.CodeUnauthenticated, core.CodeInvalidRequest, nil, "rejected invalid_request"},
		{connect.CodeUnauthenticated, core.CodeInvalidToken, nil, "rejected invalid_token"},
		{0, "", map[string]any{"hello": "stranger"}, "anonymous"},
		{0, "", map[string]any{"hello": demoCustomer.Name}, "local cache"},
		{connect.CodeUnauthenticated, core.CodeInvalidRequest, nil, "rejected invalid_request"},
	}
	for i, w := range want {
		comment, cmd := lines[2*i], lines[2*i+1]
		require.True(t, strings.HasPrefix(comment, "# "), comment)
		assert.Contains(t, comment, `log "`+w.how+`"`)
		words := rpcWords(cmd)
		switch words[0] {
		case "go":
			require.Equal(t, []string{"go", "run", "./examples/rpcclient"}, words[:3])
			var opts []connect.ClientOption
			switch p := rpcFlag(words, "-protocol"); p {
			case "":
			case "grpc-web":
				opts = append(opts, connect.WithGRPCWeb())
			default:
				t.Fatalf("protocol %q", p)
			}
			client := connect.NewClient[emptypb.Empty, structpb.Struct](http.DefaultClient, rpcFlag(words, "-url"), opts...)
			req := connect.NewRequest(&emptypb.Empty{})
			if tok := rpcFlag(words, "-token"); tok != "" {
				req.Header().Set("Authorization", "Bearer "+tok)
			}
			res, err := client.CallUnary(context.Background(), req)
			if w.code == 0 {
				require.NoError(t, err, cmd)
				assert.Equal(t, w.answer, res.Msg.AsMap(), cmd)
			} else {
				assert.Equal(t, w.code, connect.CodeOf(err), cmd)
				assert.Contains(t, comment, "error: "+w.code.String()+" (reason "+w.reason+")")
				var ce *connect.Error
				require.True(t, errors.As(err, &ce))
				var reasons []string
				for _, d := range ce.Details() {
					if v, derr := d.Value(); derr == nil {
						if info, ok := v.(*errdetails.ErrorInfo); ok {
							reasons = append(reasons, info.GetReason())
						}
					}
				}
				assert.Equal(t, []string{w.reason}, reasons, cmd)
			}
		case "curl":
			require.Equal(t, []string{"curl", "-i", "-H", "Content-Type: application/json", "-d", "{}"}, words[:6])
			resp, err := http.Post(words[6], "application/json", strings.NewReader("{}"))
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Contains(t, comment, "401")
			var e struct {
				Code string `json:"code"`
			}
			require.NoError(t, json.Unmarshal(body, &e), "%s", body)
			assert.Equal(t, w.code.String(), e.Code)
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		default:
			t.Fatalf("unknown command %q", cmd)
		}
		assert.Equal(t, w.how, rpcLastHow(t, log.String()), "log of %s", cmd)
	}
	http.DefaultClient.CloseIdleConnections()
	assert.NotContains(t, log.String(), "Atza", "the request log never shows a token")
}
