package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// TestJWKSKeySetAgeIsBounded: while the JWKS URL keeps failing, the last
// good key set serves for a bounded time only (by default twice the upper
// refresh bound, 48 h), and then tokens are refused as from an issuer
// that cannot be reached, the verified-token cache included. Otherwise a
// key the identity provider removed (because it leaked) would stay trusted
// by anyone who can keep the verifier from reaching its JWKS.
func TestJWKSKeySetAgeIsBounded(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	ctx := context.Background()
	exp := clk.Now().Add(100 * time.Hour).Unix()
	first := iss.Mint(map[string]any{"sub": "first", "exp": exp})
	_, err := v.Authenticate(ctx, first)
	require.NoError(t, err)

	iss.FailJWKS(503)
	clk.Advance(48*time.Hour - time.Minute)
	second := iss.Mint(map[string]any{"sub": "second", "exp": exp})
	_, err = v.Authenticate(ctx, second) // verified and cached at 47h59m
	require.NoError(t, err, "the last good key set still serves")
	require.Positive(t, v.Stats().KeysLoaded)

	clk.Advance(2 * time.Minute)
	for _, raw := range []string{second, first} { // cached, then not
		_, err = v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrIssuerUnavailable, raw)
	}
	require.Zero(t, v.Stats().KeysLoaded, "a key set too old to use is not reported as loaded")

	iss.FailJWKS(0)
	clk.Advance(11 * time.Second) // past the refetch rate limit
	p, err := v.Authenticate(ctx, first)
	require.NoError(t, err, "accepted again once a fetch succeeds")
	require.Equal(t, "first", p.Subject)
	require.Positive(t, v.Stats().KeysLoaded)
}

// TestJWKSMaxKeySetAge: WithMaxKeySetAge sets the bound; it must leave
// room for at least one refresh at the upper refresh bound.
func TestJWKSMaxKeySetAge(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk, token.WithRefreshBounds(time.Minute, time.Hour), token.WithMaxKeySetAge(90*time.Minute))
	ctx := context.Background()
	raw := iss.Mint(map[string]any{"exp": clk.Now().Add(10 * time.Hour).Unix()})
	iss.FailJWKS(503)
	clk.Advance(89 * time.Minute)
	_, err := v.Authenticate(ctx, raw)
	require.NoError(t, err)
	clk.Advance(2 * time.Minute)
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrIssuerUnavailable, raw)

	for _, opts := range [][]token.VerifierOption{
		{token.WithMaxKeySetAge(24 * time.Hour)}, // not above the default upper bound
		{token.WithMaxKeySetAge(0)},
		{token.WithRefreshBounds(time.Minute, time.Hour), token.WithMaxKeySetAge(time.Hour)},
	} {
		_, err := token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()}, opts...)
		require.ErrorIs(t, err, token.ErrConfig)
	}
}
