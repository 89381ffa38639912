package grpclwa_test

// The Go snippets of README.md that are not whole examples, each
// in the body of a function below so that it compiles with the module;
// TestREADMESection checks that every Go block of the section is one of
// them (or of an example), line for line.

import (
	"context"
	"log"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/grpclwa"
	"github.com/go-lwa/lwa/internal/snippets"
)

func TestREADMESection(t *testing.T) {
	snippets.CheckUnder(t, "README.md", "grpclwa/")
}

func readmeGRPCRequire() *grpc.Server {
	s := grpc.NewServer(grpclwa.Require()...) // client ID from LWA_CLIENT_ID
	return s
}

func readmeGRPCConfig() *grpc.Server {
	v, err := core.NewVerifier() // client ID from LWA_CLIENT_ID; share v with your HTTP routes
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(grpclwa.ServerOptions(v, grpclwa.Config{
		Methods: map[string]core.Policy{
			"/shop.v1.Catalog/":    {Optional: true},                                 // a whole service
			"/shop.v1.Orders/Ship": {RequiredFields: []string{core.FieldPostalCode}}, // one method
		},
	})...)
	return s
}

func readmeGRPCHandler(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	p, ok := grpclwa.Profile(ctx) // or core.FromContext(ctx); on a stream, ss.Context()
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no profile")
	}
	return wrapperspb.String("hello " + p.Name), nil
}

var (
	_ = readmeGRPCRequire
	_ = readmeGRPCConfig
	_ = readmeGRPCHandler
)
