// Package audit holds the cross-adapter secret audit: a test that drives
// every row of the error table through every adapter (stdlwa, ginlwa,
// echolwa, fiberlwa) on real loopback servers and checks that the access
// token reaches no log record, error string, response body or response
// header. It has no API; see audit_test.go.
package audit
