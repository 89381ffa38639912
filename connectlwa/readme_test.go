package connectlwa_test

// The Go snippets of README.md for Connect that are not whole
// examples (grpclwa's TestREADMESection checks the section).

import (
	"testing"

	"connectrpc.com/connect"

	"github.com/go-lwa/lwa/connectlwa"
	"github.com/go-lwa/lwa/internal/snippets"
)

func readmeConnectRequire() connect.HandlerOption {
	interceptors := connect.WithInterceptors(connectlwa.Require()) // client ID from LWA_CLIENT_ID
	return interceptors
}

var _ = readmeConnectRequire

func TestREADMESection(t *testing.T) {
	snippets.CheckUnder(t, "README.md", "connectlwa/")
}
