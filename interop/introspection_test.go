package interop

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// opaqueAudience is the peer's resource server with opaque tokens
// (provider.mjs, OPAQUE_AUDIENCE).
const opaqueAudience = "https://opaque.example.test/fhir"

// TestOIDCProviderIntrospection: token.Introspector against oidc-provider's
// RFC 7662 endpoint. The peer serves several resource servers and answers
// "active" for a token meant for any of them; its answers name the
// audience, so the Introspector's default (an answer must carry aud
// containing the configured audience) accepts this resource server's
// tokens and refuses those meant for another.
func TestOIDCProviderIntrospection(t *testing.T) {
	requirePeer(t)
	dir := t.TempDir()
	fhirAudience := fmt.Sprintf("http://127.0.0.1:%d/fhir", freePort(t))
	signingKey := filepath.Join(dir, "signing.jwk.json")
	writeRSAKey(t, signingKey, "RS256")
	clientKey := writeRSAKey(t, filepath.Join(dir, "client.jwk.json"), "RS384")
	clientJWKS := filepath.Join(dir, "client.jwks.json")
	writePublicJWKS(t, clientJWKS, clientKey)
	p := startPeer(t, 0, fhirAudience, signingKey, clientJWKS)

	ctx := context.Background()
	md, err := token.DiscoverOpenID(ctx, p.issuer)
	require.NoError(t, err)
	require.NotEmpty(t, md.IntrospectionEndpoint)
	introspector := func(audience string) *token.Introspector {
		in, err := token.NewIntrospector(token.IntrospectorConfig{
			Endpoint: md.IntrospectionEndpoint, ClientID: "interop-basic", ClientSecret: "interop-secret",
			Issuer: p.issuer, Audience: audience,
		})
		require.NoError(t, err)
		return in
	}
	opaque := basicToken(t, p, "system/Patient.rs", opaqueAudience)

	t.Run("a token for this resource server", func(t *testing.T) {
		pr, err := introspector(opaqueAudience).Authenticate(ctx, opaque.AccessToken)
		require.NoError(t, err)
		require.Equal(t, []string{opaqueAudience}, pr.Audience, "the peer's answer names the audience")
		require.Equal(t, "interop-basic", pr.ClientID)
		require.Equal(t, p.issuer, pr.Issuer)
		require.Equal(t, scope.Unconstrained, pr.Scopes.Permits(scope.System, "Patient", scope.Read))
	})

	t.Run("a token meant for another resource server", func(t *testing.T) {
		pr, err := introspector(fhirAudience).Authenticate(ctx, opaque.AccessToken)
		require.Nil(t, pr)
		require.ErrorIs(t, err, token.ErrAudience)
	})
}
