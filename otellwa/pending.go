package otellwa

import (
	"context"

	"github.com/go-lwa/lwa/core/observe"
)

// The instruments of these hooks come with the operators' work (breaker,
// staleness, revocation lag, shared-tier health); until then they record
// nothing.

// BreakerChange records nothing yet.
func (o *Observer) BreakerChange(context.Context, observe.BreakerEvent) {}

// StaleServed records nothing yet.
func (o *Observer) StaleServed(context.Context, observe.StaleEvent) {}

// Revocation records nothing yet.
func (o *Observer) Revocation(context.Context, observe.RevocationEvent) {}

// SharedCall records nothing yet.
func (o *Observer) SharedCall(context.Context, observe.SharedCallEvent) {}

// SharedForgery records nothing yet.
func (o *Observer) SharedForgery(context.Context, observe.Forgery) {}
