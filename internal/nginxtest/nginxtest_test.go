package nginxtest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStart: nginx serves the configuration given, with its included
// files, on the port Start chose, until Stop; its pid file is the
// process's.
func TestStart(t *testing.T) {
	s := Start(t, func(port int) (string, map[string]string) {
		return "include site.conf;", map[string]string{
			"site.conf":           "server {\n    listen 127.0.0.1:" + strconv.Itoa(port) + ";\n    include snippets/hello.conf;\n}\n",
			"snippets/hello.conf": "location = /hello {\n    default_type text/plain;\n    return 200 'hello from nginx';\n}\n",
		}
	})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(s.URL() + "/hello")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello from nginx", string(body))
	assert.Contains(t, resp.Header.Get("Server"), "nginx")

	pid, err := os.ReadFile(filepath.Join(s.dir, "nginx.pid"))
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(s.cmd.Process.Pid)+"\n", string(pid))

	s.Stop()
	_, err = client.Get(s.URL() + "/hello")
	assert.Error(t, err, "stopped")
	s.Stop() // twice is fine
}
