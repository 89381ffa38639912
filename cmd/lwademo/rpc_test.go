package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/promexport"
	"github.com/go-lwa/lwa/lwatest"
)

// rpcDemo serves the demo's Connect procedures as the demo does: on a mux
// behind the request log, over HTTP/1.1, with a verifier that tells the log
// how each request was handled.
func rpcDemo(t *testing.T) (fake *lwatest.Server, v *core.Verifier, base string, log *safeBuffer) {
	t.Helper()
	m, err := promexport.New()
	require.NoError(t, err)
	t.Cleanup(m.Close)
	fake = lwatest.NewServer()
	t.Cleanup(fake.Close)
	v, err = core.NewVerifier(core.WithClientID(demoClientID), core.WithEndpoint(fake.URL), core.WithObserver(howObserver{m.Obs}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	mux := http.NewServeMux()
	mountRPC(mux, v)
	log = &safeBuffer{}
	ts := httptest.NewServer(logRequests(log, mux))
	t.Cleanup(ts.Close)
	return fake, v, ts.URL, log
}

// rpcWords splits a printed command line into its words, undoing single
// quotes.
func rpcWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
			}
			cur.Reset()
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	require.False(t, quoted, "unbalanced quote in %q", line)
	if inWord {
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

var (
	// rpcExpectation is the format of printOffline's comments, which
	// main_test.go's TestOfflineDemoCommands requires of every comment it
	// prints: the status, then what the request log says.
	rpcExpectation = regexp.MustCompile(`^# .*: (\d{3})\b.*, log "([^"]+)"$`)
	rpcLogHow      = regexp.MustCompile(`how=("([^"]*)"|(\S+))`)
)

// rpcLastHow is the how= of the request log's last line.
func rpcLastHow(t *testing.T, log string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	m := rpcLogHow.FindStringSubmatch(lines[len(lines)-1])
	require.NotNil(t, m, "log line %q", lines[len(lines)-1])
	return m[2] + m[3]
}

// rpcCurl turns a printed curl line into its request, knowing only the
// options main_test.go's curl reader knows (-i, -s, -X, -H).
func rpcCurl(t *testing.T, words []string) *http.Request {
	t.Helper()
	method, header, target := http.MethodGet, http.Header{}, ""
	for i := 1; i < len(words); i++ {
		switch words[i] {
		case "-i", "-s":
		case "-X":
			i++
			method = words[i]
		case "-H":
			i++
			k, v, ok := strings.Cut(words[i], ": ")
			require.True(t, ok, "a header: %q", words[i])
			header.Add(k, v)
		default:
			require.False(t, strings.HasPrefix(words[i], "-"), "an option main_test.go does not know: %q", words[i])
			require.Empty(t, target, "one URL")
			target = words[i]
		}
	}
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	req.Header = header
	return req
}

// TestRPCPrintedCommands runs every command printRPC prints, in order, as
// the client (examples/rpcclient) or curl would send it, and checks that it
// answers, and is logged, as its comment says, in the format printOffline's
// test reads.
func TestRPCPrintedCommands(t *testing.T) {
	fake, v, base, log := rpcDemo(t)
	tok := fake.Issue(demoClientID, demoCustomer)
	_, err := v.Verify(context.Background(), tok) // as the REST commands printed before do
	require.NoError(t, err)
	var out strings.Builder
	printRPC(&out, base, tok)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.True(t, strings.HasPrefix(lines[0], "The same API over Connect"), lines[0])
	lines = lines[1:]
	require.Len(t, lines, 14, "seven commented commands:\n%s", out.String())

	profile := map[string]any{"user_id": demoCustomer.UserID, "name": demoCustomer.Name, "email": demoCustomer.Email, "postal_code": demoCustomer.PostalCode}
	answers := []map[string]any{profile, profile, nil, nil, {"hello": "stranger"}, nil, nil}
	reasons := []string{"", "", core.CodeInvalidRequest, core.CodeInvalidToken, "", "", core.CodeInvalidRequest}
	for i := range answers {
		comment, cmd := lines[2*i], lines[2*i+1]
		m := rpcExpectation.FindStringSubmatch(comment)
		require.NotNil(t, m, "a comment with a status and a log: %q", comment)
		status, how := m[1], m[2]
		words := rpcWords(t, cmd)
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
			if status == "200" {
				require.NoError(t, err, cmd)
				assert.Equal(t, answers[i], res.Msg.AsMap(), cmd)
				break
			}
			require.Equal(t, "401", status)
			assert.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), cmd)
			assert.Contains(t, comment, `"error: unauthenticated (reason `+reasons[i]+`): …"`)
			var ce *connect.Error
			require.True(t, errors.As(err, &ce))
			var got []string
			for _, d := range ce.Details() {
				if v, derr := d.Value(); derr == nil {
					if info, ok := v.(*errdetails.ErrorInfo); ok {
						got = append(got, info.GetReason())
					}
				}
			}
			assert.Equal(t, []string{reasons[i]}, got, cmd)
		case "curl":
			req := rpcCurl(t, words)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, status, strconv.Itoa(resp.StatusCode), "%s\n%s", cmd, body)
			if resp.StatusCode == http.StatusOK {
				var got map[string]any
				require.NoError(t, json.Unmarshal(body, &got), "%s", body)
				assert.Equal(t, profile, got)
			} else {
				var e struct {
					Code    string `json:"code"`
					Details []struct {
						Type string `json:"type"`
					} `json:"details"`
				}
				require.NoError(t, json.Unmarshal(body, &e), "%s", body)
				assert.Equal(t, "unauthenticated", e.Code)
				require.NotEmpty(t, e.Details)
				assert.Equal(t, "google.rpc.ErrorInfo", e.Details[0].Type)
				assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
			}
		default:
			t.Fatalf("unknown command %q", cmd)
		}
		assert.Equal(t, how, rpcLastHow(t, log.String()), "log of %s", cmd)
	}
	http.DefaultClient.CloseIdleConnections()
	assert.NotContains(t, log.String(), "Atza", "the request log never shows a token")
}
