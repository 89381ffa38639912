// Package audit holds the cross-adapter secret audit: a test that drives
// every row of the error table through every HTTP adapter (stdlwa, ginlwa,
// echolwa, echov5lwa, fiberlwa, fiberv3lwa) and both RPC adapters (grpclwa,
// connectlwa) on real loopback servers and checks that the access token
// reaches no log record, error string, response body or header, RPC status
// or detail. It has no API; see audit_test.go and rpc_test.go.
package audit
