package authserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// A resource server verifying this server's JWTs itself accepts one up to
// its clock leeway past exp, asking Revoked on every use: the revocation
// must be remembered that long, whatever purges the list meanwhile (any
// client can grow it by revoking its own tokens).
func TestRevokedOutlivesVerifierLeeway(t *testing.T) {
	s, clock := newTestServer(t)
	keys, err := s.JWKS()
	require.NoError(t, err)
	set, err := jwk.Parse(keys)
	require.NoError(t, err)
	for _, leeway := range []time.Duration{token.DefaultLeeway, 5 * time.Minute} {
		v, err := token.NewVerifier(context.Background(), token.Config{Issuer: testIssuer, Audience: testAudience, Keys: set},
			token.WithClock(clock.Now), token.WithLeeway(leeway),
			token.WithRevocation(token.RevocationFunc(func(_ context.Context, raw string, _ *token.Principal) (bool, error) {
				return s.Revoked(raw), nil
			})))
		require.NoError(t, err)
		t.Cleanup(func() { _ = v.Close() })

		tok, err := s.Mint(map[string]any{"sub": "victim"})
		require.NoError(t, err)
		s.Revoke(tok)
		_, err = v.Authenticate(context.Background(), tok)
		require.True(t, errors.Is(err, token.ErrInactive), "revoked: %v", err)

		clock.Advance(s.TokenLifetime() + leeway - time.Second) // past exp, inside the leeway
		for i := range 2 * minPurge {                           // trigger a purge
			s.Revoke("filler-" + itoa(int64(i)))
		}
		_, err = v.Authenticate(context.Background(), tok)
		require.True(t, errors.Is(err, token.ErrInactive), "leeway %v: a revoked token is refused until the verifier stops accepting it: %v", leeway, err)
		clock.Advance(time.Hour)
	}
}
