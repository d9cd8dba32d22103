package token

// THIS FILE IS THE AGREED PUBLIC API CORE OF package token. The token helper
// replaces/splits it but keeps these exported names and meanings; other packages
// are being written against it concurrently.

import (
	"context"
	"errors"
	"time"

	"github.com/fhirwarden/fhirwarden/scope"
)

// Principal is a verified caller.
type Principal struct {
	Subject   string    // sub
	ClientID  string    // client_id, falling back to azp
	Issuer    string    // iss
	Audience  []string  // aud
	Scopes    scope.Set // parsed scope / scp
	Patient   string    // launch context: patient id ("" if none)
	Encounter string    // launch context: encounter id
	FHIRUser  string    // fhirUser claim (e.g. "Practitioner/123")
	TokenID   string    // jti
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	Claims    map[string]any // all claims as decoded JSON (read-only)
}

// Authenticator turns a raw bearer token into a Principal.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (*Principal, error)
}

// Sentinel errors; every error returned by an Authenticator wraps exactly one.
var (
	ErrMalformed         = errors.New("token: malformed")
	ErrSignature         = errors.New("token: bad signature")
	ErrUnknownKey        = errors.New("token: unknown signing key")
	ErrExpired           = errors.New("token: expired")
	ErrNotYetValid       = errors.New("token: not yet valid")
	ErrIssuer            = errors.New("token: wrong issuer")
	ErrAudience          = errors.New("token: wrong audience")
	ErrAlgorithm         = errors.New("token: algorithm not allowed")
	ErrInactive          = errors.New("token: inactive")
	ErrScope             = errors.New("token: invalid scope claim")
	ErrIssuerUnavailable = errors.New("token: issuer unreachable") // infrastructure failure: callers answer 503
)
