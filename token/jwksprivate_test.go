package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// privateJWK is a private key as JWK members, without the members named in drop.
func privateJWK(t *testing.T, key crypto.Signer, kid string, drop ...string) map[string]any {
	t.Helper()
	k, err := jwk.Import(key)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(mustJSON(t, k), &m))
	m["kid"] = kid
	for _, d := range drop {
		delete(m, d)
	}
	return m
}

// TestJWKSPublishedPrivateKeyIsNotUsed: an identity provider that
// publishes a private signing key in its JWKS lets anyone who reads the
// key set sign tokens. Such a key, in whatever shape, is skipped (and
// logged), while the key set's public keys keep serving.
func TestJWKSPublishedPrivateKeyIsNotUsed(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	good, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	tests := []struct {
		name    string
		alg     string
		key     crypto.Signer
		jwk     map[string]any
		jwxSays bool // what jwx.IsPrivateKey says of the parsed key
	}{
		{"RSA with every private member", "RS256", rk, privateJWK(t, rk, "leaked"), true},
		{"RSA with d only", "RS256", rk, privateJWK(t, rk, "leaked", "p", "q", "dp", "dq", "qi"), true},
		{"RSA with the primes but no d", "RS256", rk, privateJWK(t, rk, "leaked", "d", "dp", "dq", "qi"), false},
		{"RSA with the CRT members only", "RS256", rk, privateJWK(t, rk, "leaked", "d", "p", "q"), false},
		{"EC P-256 with d", "ES256", ek, privateJWK(t, ek, "leaked"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Differential: jwx reads the member set this way too, or
			// (without d) as a public key that is still refused here.
			parsed, err := jwk.ParseKey(mustJSON(t, tc.jwk))
			require.NoError(t, err)
			priv, err := jwk.IsPrivateKey(parsed)
			require.NoError(t, err)
			require.Equal(t, tc.jwxSays, priv)

			srv := newJWKSServer(t, tc.jwk, jwkJSON(t, &good.PublicKey, map[string]any{"kid": "good"}))
			logs := &lockedBuffer{}
			v := remoteVerifier(t, srv.URL, slog.New(slog.NewTextHandler(logs, nil)))
			ctx := context.Background()
			raw := signAs(t, tc.alg, "leaked", tc.key, nil)
			_, err = v.Authenticate(ctx, raw)
			requireRejected(t, err, token.ErrUnknownKey, raw)
			_, err = v.Authenticate(ctx, signAs(t, "RS256", "good", good, nil))
			require.NoError(t, err, "the public keys of the set keep serving")
			st := v.Stats()
			require.Equal(t, 1, st.KeysLoaded)
			require.Equal(t, 1, st.KeysSkipped)
			require.Eventually(t, func() bool { return strings.Contains(logs.String(), "private key material") },
				5*time.Second, 10*time.Millisecond, "the skipped key is logged")
		})
	}
}

// TestJWKSOfOnlyPrivateKeysIsNotLoaded: a key set whose keys are all
// private ones has no usable key: tokens signed with them are refused as
// from an issuer whose keys could not be loaded.
func TestJWKSOfOnlyPrivateKeysIsNotLoaded(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	srv := newJWKSServer(t, privateJWK(t, rk, "leaked"))
	v := remoteVerifier(t, srv.URL, nil)
	raw := signAs(t, "RS256", "leaked", rk, nil)
	_, err = v.Authenticate(context.Background(), raw)
	requireRejected(t, err, token.ErrIssuerUnavailable, raw)
	require.Zero(t, v.Stats().KeysLoaded)
}
