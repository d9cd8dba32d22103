package authserver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMintDefaults(t *testing.T) {
	s, clock := newTestServer(t)
	tok, err := s.Mint(map[string]any{"sub": "u1", "scope": "user/*.rs"})
	require.NoError(t, err)
	header, claims := verifyIssued(t, s, tok)
	assert.Equal(t, map[string]any{"alg": "RS256", "kid": s.KeyIDs()[0], "typ": "at+jwt"}, header)
	now := clock.Now().Unix()
	assert.Equal(t, testIssuer, claims["iss"])
	assert.Equal(t, testAudience, claims["aud"])
	assert.EqualValues(t, now, claims["iat"])
	assert.EqualValues(t, now+5400, claims["exp"])
	assert.Len(t, claims["jti"], 22)
	assert.Equal(t, "u1", claims["sub"])

	tok2, err := s.Mint(nil)
	require.NoError(t, err)
	_, claims2 := verifyIssued(t, s, tok2)
	assert.NotEqual(t, claims["jti"], claims2["jti"], "jti is unique")

	tok, err = s.Mint(map[string]any{"exp": nil, "jti": nil, "iat": nil, "aud": []string{"x", "y"}})
	require.NoError(t, err)
	_, claims = verifyIssued(t, s, tok)
	assert.NotContains(t, claims, "exp")
	assert.NotContains(t, claims, "jti")
	assert.NotContains(t, claims, "iat")
	assert.Equal(t, []any{"x", "y"}, claims["aud"])

	_, err = s.Mint(map[string]any{"bad": func() {}})
	assert.Error(t, err)
}

func TestMintWithAlgorithms(t *testing.T) {
	s, _ := newTestServer(t)
	for _, alg := range []string{"RS256", "ES256", "RS384", "ES384", "ES512", "PS256", "EdDSA"} {
		tok, err := s.MintWith(alg, nil)
		require.NoError(t, err, alg)
		header, _ := verifyIssued(t, s, tok)
		assert.Equal(t, alg, header["alg"])
	}
	assert.Len(t, s.KeyIDs(), 7, "one published key per algorithm used")
	for _, alg := range []string{"HS256", "none", "RS1", ""} {
		_, err := s.MintWith(alg, nil)
		assert.ErrorIs(t, err, ErrUnsupportedAlgorithm, alg)
	}
}

func TestRotateKeys(t *testing.T) {
	s, _ := newTestServer(t)
	old, err := s.Mint(nil)
	require.NoError(t, err)
	before := s.KeyIDs()

	require.NoError(t, s.RotateKeys(false))
	mid := s.KeyIDs()
	require.Len(t, mid, 4)
	assert.Equal(t, before, mid[:2])
	fresh, err := s.Mint(nil)
	require.NoError(t, err)
	h, _ := verifyIssued(t, s, fresh)
	assert.Equal(t, mid[2], h["kid"])
	_, active := s.Introspect(old)
	assert.True(t, active, "old key still published")

	require.NoError(t, s.RotateKeys(true))
	after := s.KeyIDs()
	require.Len(t, after, 2)
	assert.NotContains(t, after, mid[2])
	_, active = s.Introspect(old)
	assert.False(t, active, "retired key")
	_, active = s.Introspect(fresh)
	assert.False(t, active, "retired key")
}

func TestRevokeExpiresFromMemory(t *testing.T) {
	s, clock := newTestServer(t)
	tok, err := s.Mint(map[string]any{"exp": clock.Now().Add(time.Minute).Unix()})
	require.NoError(t, err)
	s.Revoke(tok)
	_, active := s.Introspect(tok)
	assert.False(t, active)
	if _, ok := s.revoked[revocationKey(tok)]; !ok {
		t.Fatal("revocation not recorded")
	}
	clock.Advance(2 * DefaultTokenLifetime)
	for i := range minPurge { // fill up to the purge threshold
		s.Revoke("other-" + itoa(int64(i)))
	}
	s.mu.RLock()
	n := len(s.revoked)
	s.mu.RUnlock()
	assert.Equal(t, minPurge, n, "the expired revocation was forgotten at the threshold")
	_, active = s.Introspect(tok)
	assert.False(t, active, "still expired")
}
