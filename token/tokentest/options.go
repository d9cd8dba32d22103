package tokentest

import (
	"log/slog"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
)

// Client is a client registered with the issuer. Its fields are those of the
// careconnect -clients file: ID (client_id), Secret (client_secret), Scope
// (the scopes it may be granted), Patient (the patient claim of its tokens),
// FHIRUser (the fhirUser claim) and JWKS (public keys, for private_key_jwt).
type Client = authserver.Client

// DefaultAudience is the aud of the issuer's tokens unless WithAudience says
// otherwise.
const DefaultAudience = "https://fhir.example.test/fhir"

// Option configures NewIssuer.
type Option func(*authserver.Config)

// WithAudience sets the aud of issued tokens (default DefaultAudience).
func WithAudience(aud string) Option {
	return func(c *authserver.Config) { c.Audience = aud }
}

// WithClients registers clients.
func WithClients(clients ...Client) Option {
	return func(c *authserver.Config) { c.Clients = append(c.Clients, clients...) }
}

// WithClient registers a client authenticated by a secret (HTTP Basic or
// client_secret_post) that may be granted scope.
func WithClient(id, secret, scope string) Option {
	return WithClients(Client{ID: id, Secret: secret, Scope: scope})
}

// WithTokenLifetime sets the lifetime of issued tokens (default 90 minutes).
func WithTokenLifetime(d time.Duration) Option {
	return func(c *authserver.Config) { c.TokenLifetime = d }
}

// WithClock sets the issuer's clock (iat/exp of tokens, assertion and
// introspection checks).
func WithClock(now func() time.Time) Option {
	return func(c *authserver.Config) { c.Now = now }
}

// WithOpaqueTokens makes the token endpoint issue opaque tokens that only
// the introspection endpoint can resolve.
func WithOpaqueTokens() Option {
	return func(c *authserver.Config) { c.OpaqueTokens = true }
}

// WithLogger sets the logger of refused requests (default: discarded).
func WithLogger(l *slog.Logger) Option {
	return func(c *authserver.Config) { c.Logger = l }
}
