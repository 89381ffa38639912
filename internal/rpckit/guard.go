package rpckit

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-lwa/lwa/core"
)

// HealthService is the standard gRPC health service (grpc.health.v1.Health:
// Check, Watch, List), whose calls the interceptors let through untouched
// unless told otherwise: load balancers and orchestrators probe it without
// credentials.
const HealthService = "grpc.health.v1.Health"

// healthPrefix starts the full method name of every health call.
const healthPrefix = "/" + HealthService + "/"

// Options is what the adapters' Config types carry besides their error
// mapper.
type Options struct {
	// Policy applies to every method that Methods does not name.
	Policy core.Policy
	// Methods maps full method names ("/pkg.Service/Method") and whole
	// services ("/pkg.Service/") to their own policy.
	Methods map[string]core.Policy
	// Skip lets the calls for which it returns true through untouched.
	Skip func(ctx context.Context, fullMethod string) bool
	// CheckHealth subjects the health service to the check too.
	CheckHealth bool
}

// Guard is one interceptor's compiled configuration. It is immutable and
// safe for concurrent use.
type Guard struct {
	v           *core.Verifier
	policy      core.Policy
	methods     map[string]*core.Policy
	skip        func(ctx context.Context, fullMethod string) bool
	checkHealth bool
	// Headers are the custom token headers (core.WithTokenHeader) to read
	// into core.Request.Header, spelt as the adapter's requests key them.
	Headers []string
	// Cookies are the token cookies (core.WithTokenCookie).
	Cookies []string
}

// Config returns the one Config of an interceptor's variadic argument (the
// zero Config when none is given). It panics, with a message that starts
// with fn, when v is nil or more than one Config is given.
func Config[C any](fn string, v *core.Verifier, cfg []C) C {
	var c C
	if v == nil || len(cfg) > 1 {
		panic(fn + ": want a non-nil *core.Verifier and at most one Config")
	}
	if len(cfg) == 1 {
		c = cfg[0]
	}
	return c
}

// NewGuard compiles o for an interceptor verifying with v. lowerHeaders
// spells the custom token headers in lower case, as gRPC metadata keys
// them (else as net/http does). It panics, with a message that starts with
// fn, when a policy is invalid (core.Policy.Validate) or a key of Methods
// is not a full method name nor a service.
func NewGuard(fn string, v *core.Verifier, o Options, lowerHeaders bool) *Guard {
	if err := o.Policy.Validate(); err != nil {
		panic(fn + ": " + err.Error())
	}
	g := &Guard{v: v, policy: clonePolicy(o.Policy), skip: o.Skip, checkHealth: o.CheckHealth}
	if len(o.Methods) > 0 {
		g.methods = make(map[string]*core.Policy, len(o.Methods))
		for k, p := range o.Methods {
			if err := checkMethodKey(k); err != nil {
				panic(fn + ": " + err.Error())
			}
			if err := p.Validate(); err != nil {
				panic(fmt.Sprintf("%s: Methods[%q]: %v", fn, k, err))
			}
			p = clonePolicy(p)
			g.methods[k] = &p
		}
	}
	g.Headers, g.Cookies = tokenSources(v)
	if lowerHeaders {
		for i, h := range g.Headers {
			g.Headers[i] = strings.ToLower(h)
		}
	}
	return g
}

// checkMethodKey rejects a key of Methods that could never match: a typo
// there would silently leave the method on the default policy.
func checkMethodKey(k string) error {
	svc, method, ok := strings.Cut(strings.TrimPrefix(k, "/"), "/")
	if !strings.HasPrefix(k, "/") || !ok || svc == "" || strings.Contains(method, "/") {
		return fmt.Errorf("Methods key %q is neither a full method name (\"/package.Service/Method\") nor a service (\"/package.Service/\")", k)
	}
	return nil
}

// clonePolicy copies p's slices, so that the caller changing them later
// changes nothing.
func clonePolicy(p core.Policy) core.Policy {
	p.RequiredFields = slices.Clone(p.RequiredFields)
	p.ClientIDs = slices.Clone(p.ClientIDs)
	return p
}

// Skip reports whether the call of fullMethod passes untouched: a health
// call (unless CheckHealth), or one the Skip function lets through.
func (g *Guard) Skip(ctx context.Context, fullMethod string) bool {
	if !g.checkHealth && strings.HasPrefix(fullMethod, healthPrefix) {
		return true
	}
	return g.skip != nil && g.skip(ctx, fullMethod)
}

// PolicyFor returns the policy of fullMethod: its own entry in Methods,
// else its service's, else the default one.
func (g *Guard) PolicyFor(fullMethod string) *core.Policy {
	if g.methods != nil {
		if p, ok := g.methods[fullMethod]; ok {
			return p
		}
		if i := strings.LastIndexByte(fullMethod, '/'); i > 0 {
			if p, ok := g.methods[fullMethod[:i+1]]; ok {
				return p
			}
		}
	}
	return &g.policy
}
