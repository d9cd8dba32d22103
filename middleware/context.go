package middleware

import (
	"context"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/token"
)

// stateKey is the context key of the per-request state.
type stateKey struct{}

// PrincipalFrom returns the authenticated caller of the request whose
// context is ctx, or nil when the middleware did not authenticate one (a
// public endpoint, or a context that did not come through the middleware).
// The Principal is shared with other requests bearing the same token:
// treat it as read-only.
func PrincipalFrom(ctx context.Context) *token.Principal {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.principal
	}
	return nil
}

// DecisionFrom returns the authorization decision of the request whose
// context is ctx, or nil (public endpoints, or a context that did not come
// through the middleware). A FHIR server that narrows searches natively
// reads Decision.Narrow, Decision.Patient and, for batches,
// Decision.Entries; one that checks writes against its stored copy calls
// Decision.CheckStored.
func DecisionFrom(ctx context.Context) *fhirauth.Decision {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.decision
	}
	return nil
}
