package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// TestClockStepBackRevokedNotYetValid: after the clock steps back past a
// token's nbf, a cache hit refuses it as a fresh verification does, even
// though the answers cached before the step said it was fine.
func TestClockStepBackRevokedNotYetValid(t *testing.T) {
	iss, clk, v := revocationSetup(t, token.RevocationIntrospectorConfig{CacheTTL: 10 * time.Second})
	ctx := context.Background()
	raw := iss.Mint(map[string]any{"scope": "user/Patient.rs", "nbf": clk.Now().Unix()})
	_, err := v.Authenticate(ctx, raw)
	require.NoError(t, err)

	iss.Revoke(raw)
	clk.Advance(-30 * time.Minute)
	_, err = newVerifier(t, iss, clk).Authenticate(ctx, raw)
	require.ErrorIs(t, err, token.ErrNotYetValid, "a fresh verification")
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrNotYetValid, raw)
}

// TestClockStepBackRevocationAskedAgain: a token valid before and after
// the step (no nbf, an old iat) is introspected again once the clock is
// behind the cached answer, so its revocation is seen at once.
func TestClockStepBackRevocationAskedAgain(t *testing.T) {
	iss, clk, v := revocationSetup(t, token.RevocationIntrospectorConfig{CacheTTL: 10 * time.Second})
	ctx := context.Background()
	now := clk.Now()
	claims := map[string]any{"scope": "user/Patient.rs", "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(time.Hour).Unix()}
	raw, revoked := iss.Mint(claims), iss.Mint(claims)
	for _, tok := range []string{raw, revoked} {
		_, err := v.Authenticate(ctx, tok)
		require.NoError(t, err)
	}
	require.Len(t, iss.IntrospectionRequests(), 2)

	iss.Revoke(revoked)
	clk.Advance(-30 * time.Minute)
	_, err := v.Authenticate(ctx, revoked)
	requireRejected(t, err, token.ErrInactive, revoked)
	require.Len(t, iss.IntrospectionRequests(), 3, "an answer from the future is not trusted")

	// Not revoked: accepted, as by a fresh verification, after asking again;
	// the new answer is then cached as usual.
	_, err = newVerifier(t, iss, clk).Authenticate(ctx, raw)
	require.NoError(t, err, "a fresh verification")
	_, err = v.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), 4)
	clk.Advance(5 * time.Second)
	_, err = v.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), 4, "the new answer is cached for CacheTTL")
}

// TestTokenCacheClockStep: a cache hit answers as a fresh verification
// would when the clock moves back: refused before nbf or iat (less the
// leeway), served again once the clock is past them; a token without nbf
// and with an old iat is unaffected, and without a step nothing changes.
func TestTokenCacheClockStep(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	ctx := context.Background()
	now := clk.Now()
	withNbf := iss.Mint(map[string]any{"nbf": now.Unix()})
	withIat := iss.Mint(map[string]any{"iat": now.Unix()})
	old := iss.Mint(map[string]any{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(time.Hour).Unix()})
	all := []string{withNbf, withIat, old}
	for _, raw := range all {
		_, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
	}
	hits := func() uint64 { return v.Stats().CacheHits }

	clk.Advance(time.Second) // no step: every token is a hit
	before := hits()
	for _, raw := range all {
		_, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
	}
	require.Equal(t, before+3, hits())

	clk.Advance(-token.DefaultLeeway) // back within the leeway: still hits
	before = hits()
	for _, raw := range all {
		_, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
	}
	require.Equal(t, before+3, hits())

	clk.Advance(-30 * time.Minute)
	fresh := newVerifier(t, iss, clk)
	for _, raw := range []string{withNbf, withIat} {
		_, err := fresh.Authenticate(ctx, raw)
		require.ErrorIs(t, err, token.ErrNotYetValid, "a fresh verification")
		_, err = v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrNotYetValid, raw)
	}
	_, err := fresh.Authenticate(ctx, old)
	require.NoError(t, err, "a fresh verification")
	_, err = v.Authenticate(ctx, old)
	require.NoError(t, err)

	clk.Advance(30 * time.Minute) // the clock catches up: valid again
	for _, raw := range all {
		_, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
	}
}

// TestIntrospectorCacheClockStep: the Introspector's cache re-checks nbf
// on a hit too: the endpoint is asked again (and, on the same clock, says
// the token is not active yet).
func TestIntrospectorCacheClockStep(t *testing.T) {
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	in := newIntrospector(t, iss, clk, nil, token.WithTokenCache(10, time.Minute))
	ctx := context.Background()
	raw := iss.MintOpaque(map[string]any{"nbf": clk.Now().Unix()})
	_, err := in.Authenticate(ctx, raw)
	require.NoError(t, err)
	_, err = in.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), 1, "a hit")
	clk.Advance(-30 * time.Minute)
	_, err = in.Authenticate(ctx, raw)
	require.Error(t, err)
	require.Len(t, iss.IntrospectionRequests(), 2, "not a hit")
}
