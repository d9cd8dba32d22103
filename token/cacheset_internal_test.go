package token

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// A cached verification stands only while its key is in the current key
// set, even when no reload purged the entry (the check on every hit, not
// only the purge, keeps a dropped key from being honoured): at once when
// the set is still the one the key was taken from, and by looking the key
// up in a newer set.
func TestCachedVerificationNeedsItsKeyInTheCurrentSet(t *testing.T) {
	ctx := context.Background()
	iss := tokentest.NewIssuer()
	t.Cleanup(iss.Close)
	v, err := NewVerifier(ctx, Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	raw := iss.Mint(map[string]any{"sub": "s"})
	_, err = v.Authenticate(ctx, raw)
	require.NoError(t, err)
	fresh := func() uint64 { return v.verified.load() } // verifications not answered by the cache
	require.Equal(t, uint64(1), fresh())

	_, err = v.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Equal(t, uint64(1), fresh(), "same set: answered by the cache")

	// A newer set holding the same key (as a reload keeps unchanged keys).
	old := v.keys.current()
	v.keys.set.Store(&keySet{byKid: old.byKid, all: old.all, fetched: old.fetched})
	_, err = v.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Equal(t, uint64(1), fresh(), "the key is in the newer set: answered by the cache")

	// A newer set without it, stored behind the cache's back.
	v.keys.set.Store(&keySet{byKid: map[string][]*verificationKey{}, fetched: old.fetched})
	_, err = v.Authenticate(ctx, raw)
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrUnknownKey), "%v: verified afresh, and refused", err)
}
