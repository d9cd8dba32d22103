package token

import (
	"context"
	"time"

	"github.com/fhirwarden/fhirwarden/scope"
)

// Principal is a verified caller: who called, through which client, with
// which scopes and launch context, as vouched for by which issuer.
//
// A Principal returned by an Authenticator is shared: the token caches hand
// the same *Principal to every request that presents the same token. Treat
// it, including Audience and Claims, as read-only.
type Principal struct {
	Subject   string         // sub
	ClientID  string         // client_id, falling back to azp
	Issuer    string         // iss
	Audience  []string       // aud
	Scopes    scope.Set      // parsed scope / scp
	Patient   string         // launch context: patient id ("" if none)
	Encounter string         // launch context: encounter id
	FHIRUser  string         // fhirUser claim (e.g. "Practitioner/123")
	TokenID   string         // jti
	IssuedAt  time.Time      // iat (zero if absent)
	NotBefore time.Time      // nbf (zero if absent)
	ExpiresAt time.Time      // exp (zero only for introspection answers without exp)
	Claims    map[string]any // all claims as decoded JSON (read-only)

	// Confirmation is the key the token is bound to (cnf claim); only
	// BoundAuthenticator.AuthenticateBound returns bound Principals.
	Confirmation Confirmation
}

// Authenticator turns a raw bearer token (without the "Bearer " prefix) into
// a Principal. Every error it returns wraps exactly one of the package's
// sentinel errors (ErrMalformed, ErrSignature, ...), and its text never
// contains the token.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (*Principal, error)
}
