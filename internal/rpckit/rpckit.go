// Package rpckit is what the RPC adapters (grpclwa and connectlwa) share and
// no app needs: the mapping of the error table to RPC status codes and
// google.rpc details, and the compiled per-method configuration of an
// interceptor (skipped methods, per-method policies). It imports neither
// gRPC nor Connect: both number their codes alike, and each adapter turns a
// Code into its own type.
package rpckit

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/go-lwa/lwa/core"
)

// ErrorDomain is the domain of the google.rpc.ErrorInfo detail of every
// rejection: the module that generated it. The detail's reason is the
// rejection's LWA code (invalid_request, invalid_token, …).
const ErrorDomain = "github.com/go-lwa/lwa"

// MetadataRequestID is the key, in the ErrorInfo detail's metadata, of
// Amazon's x-amzn-RequestId of the answer that decided the rejection.
const MetadataRequestID = "request_id"

// Code is an RPC status code, numbered as gRPC's codes.Code and Connect's
// connect.Code both are (the adapters' tests check that the numbers agree).
type Code uint32

// The codes a rejection is answered with.
const (
	OK               Code = 0
	Canceled         Code = 1
	Unknown          Code = 2
	InvalidArgument  Code = 3
	DeadlineExceeded Code = 4
	PermissionDenied Code = 7
	Internal         Code = 13
	Unavailable      Code = 14
	Unauthenticated  Code = 16
)

// maxCode is the highest code gRPC and Connect define (Unauthenticated).
const maxCode = 16

// Valid reports whether c is a failure code both protocols define (1–16):
// what a custom error mapper must return for its answer to be used.
func (c Code) Valid() bool { return c >= 1 && c <= maxCode }

// CodeOf returns the code that answers err, a rejection of the verifier
// (any other error is answered as core.AsError makes it, a 500: Internal).
// The rows of the error table are told apart by their sentinels, not by
// their HTTP status, so that core.WithRFC6750Statuses (which changes only
// the HTTP statuses) changes nothing here:
//
//	core.ErrMissingToken                          Unauthenticated
//	core.ErrMalformedToken                        InvalidArgument
//	core.ErrInvalidToken, core.ErrNotOurToken     Unauthenticated
//	core.ErrInsufficientScope                     PermissionDenied
//	core.ErrUpstream                              Unavailable
//	core.ErrUpstreamTimeout                       DeadlineExceeded
//	core.ErrUpstreamUnavailable, core.ErrOverloaded  Unavailable (with RetryInfo)
//	the caller's own context ended                Canceled or DeadlineExceeded
//	anything else                                 Internal
func CodeOf(err error) Code {
	switch {
	case errors.Is(err, core.ErrMissingToken):
		return Unauthenticated
	case errors.Is(err, core.ErrMalformedToken):
		return InvalidArgument
	case errors.Is(err, core.ErrInvalidToken), errors.Is(err, core.ErrNotOurToken):
		return Unauthenticated
	case errors.Is(err, core.ErrInsufficientScope):
		return PermissionDenied
	// The upstream timeout wraps context.DeadlineExceeded: its sentinel
	// comes first.
	case errors.Is(err, core.ErrUpstreamTimeout):
		return DeadlineExceeded
	case errors.Is(err, core.ErrUpstreamUnavailable), errors.Is(err, core.ErrOverloaded), errors.Is(err, core.ErrUpstream):
		return Unavailable
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Internal
}

// Message is the status message of e: its description, fixed text chosen
// by the library that never carries the token.
func Message(e *core.Error) string {
	if e.Description != "" {
		return e.Description
	}
	return "lwa: " + Reason(e)
}

// Reason is the ErrorInfo reason of e: its LWA code, as the HTTP adapters
// write it in the body's "error" member.
func Reason(e *core.Error) string {
	if e.Code != "" {
		return e.Code
	}
	return core.CodeServerError
}

// ErrorInfo is the google.rpc.ErrorInfo detail of e: reason the LWA code,
// domain ErrorDomain, and Amazon's request id in the metadata when there
// is one.
func ErrorInfo(e *core.Error) *errdetails.ErrorInfo {
	info := &errdetails.ErrorInfo{Reason: Reason(e), Domain: ErrorDomain}
	if e.RequestID != "" {
		info.Metadata = map[string]string{MetadataRequestID: e.RequestID}
	}
	return info
}

// RetryInfo is the google.rpc.RetryInfo detail of e, nil when e says
// nothing about retrying: its RetryAfter in whole seconds, rounded up, as
// the HTTP adapters' Retry-After header.
func RetryInfo(e *core.Error) *errdetails.RetryInfo {
	if e.RetryAfter <= 0 {
		return nil
	}
	d := (e.RetryAfter + time.Second - 1) / time.Second * time.Second
	return &errdetails.RetryInfo{RetryDelay: durationpb.New(d)}
}
