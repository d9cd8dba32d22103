package token_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

func TestVerifiedTokenCache(t *testing.T) {
	ctx := context.Background()

	t.Run("hit returns the same principal", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk)
		raw := iss.Mint(map[string]any{"sub": "a"})
		p1, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		p2, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.Same(t, p1, p2)
		st := v.Stats()
		require.Equal(t, uint64(1), st.CacheHits)
		require.Equal(t, 1, st.CacheEntries)
		require.Equal(t, uint64(2), st.Verified)
	})

	t.Run("expiry re-checked on every hit", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk, token.WithLeeway(10*time.Second))
		raw := iss.Mint(map[string]any{"exp": clk.Now().Add(90 * time.Second).Unix()})
		_, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		clk.Advance(99 * time.Second) // exp + leeway not reached
		_, err = v.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, uint64(1), v.Stats().CacheHits)
		clk.Advance(time.Second) // now exactly exp + leeway
		_, err = v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrExpired, raw)
		require.Equal(t, uint64(1), v.Stats().CacheHits)
		require.Equal(t, 0, v.Stats().CacheEntries)
	})

	t.Run("TTL bounds an entry", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk, token.WithTokenCache(100, time.Minute))
		raw := iss.Mint(nil)
		p1, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		clk.Advance(61 * time.Second)
		p2, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.NotSame(t, p1, p2, "verified afresh after the TTL")
		require.Equal(t, uint64(0), v.Stats().CacheHits)
	})

	t.Run("bounded, the less frequently used evicted", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk, token.WithTokenCache(2, time.Minute))
		a, b, c := iss.Mint(map[string]any{"sub": "a"}), iss.Mint(map[string]any{"sub": "b"}), iss.Mint(map[string]any{"sub": "c"})
		for _, raw := range []string{a, b, a, c} { // b, used once, loses to a, used twice
			_, err := v.Authenticate(ctx, raw)
			require.NoError(t, err)
		}
		require.Equal(t, 2, v.Stats().CacheEntries)
		hits := v.Stats().CacheHits
		_, err := v.Authenticate(ctx, a)
		require.NoError(t, err)
		require.Equal(t, hits+1, v.Stats().CacheHits)
		_, err = v.Authenticate(ctx, b)
		require.NoError(t, err)
		require.Equal(t, hits+1, v.Stats().CacheHits, "b was evicted")
	})

	t.Run("failures are not cached", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk)
		raw := iss.Mint(map[string]any{"aud": "other"})
		for range 3 {
			_, err := v.Authenticate(ctx, raw)
			requireRejected(t, err, token.ErrAudience, raw)
		}
		require.Equal(t, 0, v.Stats().CacheEntries)
		require.Equal(t, uint64(3), v.Stats().Rejected)
	})

	t.Run("disabled", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk, token.WithTokenCache(0, 0))
		raw := iss.Mint(nil)
		p1, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		p2, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.NotSame(t, p1, p2)
		require.Equal(t, 0, v.Stats().CacheEntries)
	})

	t.Run("entries of a key that left the key set are dropped", func(t *testing.T) {
		iss, clk := newIssuer(t)
		v := newVerifier(t, iss, clk)
		raw := iss.Mint(nil)
		_, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		iss.RotateKeys(true)
		clk.Advance(11 * time.Second)
		_, err = v.Authenticate(ctx, iss.Mint(nil)) // unknown kid: refetch
		require.NoError(t, err)
		require.Equal(t, 1, v.Stats().CacheEntries, "reload purged the old key's entry")
		_, err = v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrUnknownKey, raw)
	})
}

// TestTokenCacheBytesBound shows WithTokenCacheBytes through the public
// API: out-of-range budgets are configuration errors, and with a budget of
// a few dozen entries, a stream of distinct tokens keeps the estimated
// bytes (Stats.CacheBytes) under the budget, evicts rather than refuses,
// and still answers the token just verified from the cache.
func TestTokenCacheBytesBound(t *testing.T) {
	ctx := context.Background()
	iss, clk := newIssuer(t)
	for _, n := range []int64{-1, 0, 4<<10 - 1, 64<<30 + 1} {
		_, err := token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()},
			token.WithTokenCacheBytes(n))
		require.ErrorIs(t, err, token.ErrConfig, "budget %d", n)
	}

	const budget = 64 << 10
	v := newVerifier(t, iss, clk, token.WithTokenCacheBytes(budget))
	const tokens = 400
	var last string
	for i := range tokens {
		last = iss.Mint(map[string]any{"sub": fmt.Sprintf("user-%d", i)})
		_, err := v.Authenticate(ctx, last)
		require.NoError(t, err)
		st := v.Stats()
		require.LessOrEqual(t, st.CacheBytes, int64(budget), "after %d tokens", i+1)
	}
	st := v.Stats()
	require.Positive(t, st.CacheEntries)
	require.Less(t, st.CacheEntries, tokens, "the budget, not the count, bounded the cache")
	require.Greater(t, st.CacheBytes, int64(budget/2), "the budget is used, not left mostly empty")
	_, err := v.Authenticate(ctx, last)
	require.NoError(t, err)
	require.Equal(t, st.CacheHits+1, v.Stats().CacheHits, "the newest token is served from the cache")
}
