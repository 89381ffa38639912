package connectlwa_test

// The Go snippets of docs/readme/rpc.md for Connect that are not whole
// examples (grpclwa's TestREADMESection checks the section).

import (
	"connectrpc.com/connect"

	"github.com/go-lwa/lwa/connectlwa"
)

func readmeConnectRequire() connect.HandlerOption {
	interceptors := connect.WithInterceptors(connectlwa.Require()) // client ID from LWA_CLIENT_ID
	return interceptors
}

var _ = readmeConnectRequire
