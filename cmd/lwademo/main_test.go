package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// curlLine matches the curl commands the demo prints.
var curlLine = regexp.MustCompile(`^curl -i (?:-H '([^']*)' )?(\S+)$`)

// expectation matches the comment printed above each command.
var expectation = regexp.MustCompile(`^# .*: (\d{3})\b`)

// TestOfflineDemoCommands runs the demo as a newcomer would and runs every
// curl line it prints, checking the status its comment promises.
func TestOfflineDemoCommands(t *testing.T) {
	t.Setenv("LWA_CLIENT_ID", "")
	t.Setenv("LWA_ENDPOINT", "")
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, &out, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("demo stopped early: %v", err)
	}
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	want := -1
	ran := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if m := expectation.FindStringSubmatch(line); m != nil {
			want, _ = strconv.Atoi(m[1])
			continue
		}
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		m := curlLine.FindStringSubmatch(line)
		require.NotNil(t, m, "unexpected curl line %q", line)
		require.NotEqual(t, -1, want, "curl line without an expectation: %q", line)
		require.Contains(t, m[2], addr, "curl targets the demo's address")
		req, err := http.NewRequest(http.MethodGet, m[2], nil)
		require.NoError(t, err)
		if m[1] != "" {
			k, v, ok := strings.Cut(m[1], ": ")
			require.True(t, ok)
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "%s\n%s", line, body)
		if want == http.StatusOK && strings.HasSuffix(m[2], "/me") {
			var p map[string]string
			require.NoError(t, json.Unmarshal(body, &p))
			assert.Equal(t, "amzn1.account.DEMOUSER", p["user_id"])
			assert.Equal(t, "Ada Lovelace", p["name"])
		}
		want = -1
		ran++
	}
	assert.Equal(t, 4, ran, "the demo prints four commands:\n%s", out.String())
	http.DefaultClient.CloseIdleConnections()
}

func TestBadFlag(t *testing.T) {
	err := run(context.Background(), []string{"-nope"}, io.Discard, nil)
	require.Error(t, err)
}
