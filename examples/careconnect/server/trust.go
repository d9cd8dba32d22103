package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/fhirwarden/fhirwarden/examples/internal/trust"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/token"
)

// trustIssuers builds the token authenticator: the embedded issuer's (its
// routes are added to mux), or the external issuers' of cfg.Issuers. It
// returns the SMART configuration to publish.
func (s *Server) trustIssuers(ctx context.Context, cfg Config, audiences []string, mux *http.ServeMux) (token.Authenticator, token.SMARTConfiguration, error) {
	if len(cfg.Issuers) == 0 {
		return s.trustEmbedded(ctx, cfg, audiences, mux)
	}
	tf := trust.Flags{Issuers: cfg.Issuers, Audiences: audiences, Profiles: cfg.Profiles}
	auth, mds, err := tf.Authenticator(ctx, token.WithLogger(cfg.Logger))
	if err != nil {
		return nil, token.SMARTConfiguration{}, fmt.Errorf("careconnect: %w", err)
	}
	s.verifier = auth
	meta := mds[0] // the SMART configuration names the first issuer's endpoints
	s.tokenURL = meta.TokenEndpoint
	return auth, token.SMARTConfiguration{
		Issuer: meta.Issuer, JWKSURI: meta.JWKSURI, TokenEndpoint: meta.TokenEndpoint,
		AuthorizationEndpoint: meta.AuthorizationEndpoint, IntrospectionEndpoint: meta.IntrospectionEndpoint,
		RevocationEndpoint: meta.RevocationEndpoint, ScopesSupported: meta.ScopesSupported,
		GrantTypesSupported: []string{"client_credentials"},
		Capabilities:        []string{"permission-v1", "permission-v2"},
	}, nil
}

// trustEmbedded starts the embedded issuer and trusts it as strictly as
// what it issues allows: typ at+jwt (it always sets it), a lifetime no
// longer than its own plus the clock leeway, and its revocation list,
// consulted on every request so that a token revoked at /oauth2/revoke is
// refused from the next request on.
func (s *Server) trustEmbedded(ctx context.Context, cfg Config, audiences []string, mux *http.ServeMux) (token.Authenticator, token.SMARTConfiguration, error) {
	as, clients, err := embeddedIssuer(cfg, s.addr, s.root, audiences[0])
	if err != nil {
		return nil, token.SMARTConfiguration{}, err
	}
	s.embedded, s.clients = as, clients
	keys, err := as.JWKS()
	if err != nil {
		return nil, token.SMARTConfiguration{}, err
	}
	set, err := jwk.Parse(keys)
	if err != nil {
		return nil, token.SMARTConfiguration{}, fmt.Errorf("careconnect: embedded issuer keys: %w", err)
	}
	v, err := token.NewVerifier(ctx, token.Config{Issuer: as.Issuer(), Audiences: audiences, Keys: set},
		token.WithLogger(cfg.Logger),
		token.WithRequireATJWT(),
		token.WithMaxTokenLifetime(authserver.DefaultTokenLifetime+token.DefaultLeeway),
		token.WithRevocation(token.RevocationFunc(func(_ context.Context, raw string, _ *token.Principal) (bool, error) {
			return as.Revoked(raw), nil
		})))
	if err != nil {
		return nil, token.SMARTConfiguration{}, err
	}
	s.verifier = v
	mux.Handle("/oauth2/", as.Handler())
	mux.Handle(authserver.DiscoveryPath, as.Handler())
	s.tokenURL = as.TokenURL()
	return v, smartFromMap(as.SMARTConfiguration()), nil
}
