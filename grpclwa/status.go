package grpclwa

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/rpckit"
)

// Status returns the gRPC status a rejection is answered with (see the
// table in the package documentation): its code, its description as the
// message, a google.rpc.ErrorInfo detail whose reason is the LWA code, and
// a google.rpc.RetryInfo detail when err carries a Retry-After. err is
// taken as core.AsError takes it; nil gives nil. A custom ErrorMapper may
// start from it.
func Status(err error) *status.Status {
	e := core.AsError(err)
	if e == nil {
		return nil
	}
	st := status.New(codes.Code(rpckit.CodeOf(e)), rpckit.Message(e))
	details := []protoadapt.MessageV1{rpckit.ErrorInfo(e)}
	if r := rpckit.RetryInfo(e); r != nil {
		details = append(details, r)
	}
	if withDetails, derr := st.WithDetails(details...); derr == nil {
		st = withDetails
	}
	return st
}

// reject returns the error a rejected call ends with.
func (i *interceptor) reject(ctx context.Context, fullMethod string, err error) error {
	e := core.AsError(err)
	if i.mapper != nil {
		if mapped := i.mapper(ctx, fullMethod, e); mapped != nil {
			if st, ok := status.FromError(mapped); !ok || st.Code() != codes.OK {
				return mapped
			}
		}
	}
	return &rejection{st: Status(e), err: e}
}

// rejection is the error of a rejected call: gRPC answers its status
// (GRPCStatus), and interceptors around this one can still find the
// *core.Error (errors.As) or its sentinel (errors.Is).
type rejection struct {
	st  *status.Status
	err *core.Error
}

// Error is the status error's text: code and description, never the token.
func (r *rejection) Error() string { return r.st.Err().Error() }

// GRPCStatus is the status the call ends with.
func (r *rejection) GRPCStatus() *status.Status { return r.st }

// Unwrap returns the *core.Error.
func (r *rejection) Unwrap() error { return r.err }
