package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"
)

func importKey(t *testing.T, raw any, fields map[string]any) jwk.Key {
	t.Helper()
	k, err := jwk.Import(raw)
	require.NoError(t, err)
	for name, v := range fields {
		require.NoError(t, k.Set(name, v))
	}
	return k
}

func TestKeySetAlgorithmInference(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	all := defaultAlgorithms | setOf(algPS256, algEdDSA)
	tests := []struct {
		name    string
		key     jwk.Key
		allowed algSet
		want    algSet // 0: skipped
	}{
		{"RSA without alg: every allowed RSA alg", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r"}), all, setOf(algRS256, algRS384, algPS256, algPS384, algPS512)},
		{"RSA with alg RS256", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "alg": "RS256"}), all, setOf(algRS256)},
		{"RSA private key: public part used", importKey(t, rsaKey, map[string]any{"kid": "r"}), all, setOf(algRS256, algRS384, algPS256, algPS384, algPS512)},
		{"P-256 without alg: ES256", importKey(t, &p256.PublicKey, map[string]any{"kid": "e"}), all, setOf(algES256)},
		{"P-384 without alg: ES384", importKey(t, &p384.PublicKey, map[string]any{"kid": "e"}), all, setOf(algES384)},
		{"Ed25519 without alg: EdDSA", importKey(t, edPub, map[string]any{"kid": "o"}), all, setOf(algEdDSA)},
		{"Ed25519 not allowed", importKey(t, edPub, map[string]any{"kid": "o"}), defaultAlgorithms, 0},
		{"P-256 claiming ES384", importKey(t, &p256.PublicKey, map[string]any{"kid": "e", "alg": "ES384"}), all, 0},
		{"RSA claiming ES256", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "alg": "ES256"}), all, 0},
		{"RSA claiming HS256", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "alg": "HS256"}), all | hmacAlgorithms, 0},
		{"RSA alg outside allow-list", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "alg": "RS512"}), all, 0},
		{"use enc", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "use": "enc"}), all, 0},
		{"key_ops without verify", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "key_ops": []string{"encrypt"}}), all, 0},
		{"key_ops with verify", importKey(t, &rsaKey.PublicKey, map[string]any{"kid": "r", "key_ops": []string{"verify"}}), all, setOf(algRS256, algRS384, algPS256, algPS384, algPS512)},
		{"symmetric key", importKey(t, []byte("0123456789abcdef0123456789abcdef"), map[string]any{"kid": "h"}), all | hmacAlgorithms, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := jwk.NewSet()
			require.NoError(t, set.AddKey(tc.key))
			ks, skipped := newKeySet(set, tc.allowed, nil)
			if tc.want == 0 {
				require.Equal(t, 0, ks.len())
				require.Len(t, skipped, 1, "a key that cannot be used is reported, never skipped silently")
				require.NotEmpty(t, skipped[0].reason)
				return
			}
			require.Empty(t, skipped)
			require.Equal(t, 1, ks.len())
			require.Equal(t, tc.want, ks.all[0].algs)
		})
	}
}

// TestKeySetFromJWKSDocument: a JWKS with one bad key among good ones keeps
// the good ones and reports the bad one.
func TestKeySetFromJWKSDocument(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	good, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	doc := `{"keys":[` +
		`{"kty":"RSA","kid":"small","n":"` + b64(small.N.Bytes()) + `","e":"AQAB"},` +
		`{"kty":"EC","kid":"good","crv":"P-256","x":"` + b64(good.X.FillBytes(make([]byte, 32))) + `","y":"` + b64(good.Y.FillBytes(make([]byte, 32))) + `"},` +
		`{"kty":"XYZ","kid":"weird"}]}`
	parsed, err := jwk.Parse([]byte(doc), jwk.WithStrictKeySetParsing(false))
	require.NoError(t, err)
	ks, skipped := newKeySet(parsed, defaultAlgorithms, nil)
	require.Equal(t, 1, ks.len())
	require.Equal(t, "good", ks.all[0].kid)
	require.Equal(t, setOf(algES256), ks.all[0].algs)
	require.Len(t, skipped, 2)
}

func TestKeySetKeepsIdentityOfUnchangedKeys(t *testing.T) {
	k1, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(importKey(t, &k1.PublicKey, map[string]any{"kid": "a"})))
	first, _ := newKeySet(set, defaultAlgorithms, nil)
	// Same kid and key: same identity. Same kid, other key: new identity.
	second, _ := newKeySet(set, defaultAlgorithms, first)
	require.Same(t, first.all[0], second.all[0])
	other := jwk.NewSet()
	require.NoError(t, other.AddKey(importKey(t, &k2.PublicKey, map[string]any{"kid": "a"})))
	third, _ := newKeySet(other, defaultAlgorithms, second)
	require.NotSame(t, second.all[0], third.all[0])
	require.False(t, third.contains(first.all[0]))
}

func TestRefreshInterval(t *testing.T) {
	lo, hi := 5*time.Minute, 24*time.Hour
	tests := map[string]time.Duration{
		"":                             time.Hour,
		"public, max-age=600":          10 * time.Minute,
		"max-age=60":                   lo,
		"max-age=999999999":            hi,
		"MAX-AGE=3600":                 time.Hour,
		"no-cache":                     lo,
		"no-store, max-age=3600":       lo,
		"max-age=abc":                  time.Hour,
		"max-age=-5":                   time.Hour,
		`max-age="1200"`:               20 * time.Minute,
		"private, must-revalidate":     time.Hour,
		"max-age=99999999999999999999": time.Hour,
	}
	for cc, want := range tests {
		require.Equal(t, want, refreshInterval(cc, lo, hi), cc)
	}
}

func TestParseAlgorithm(t *testing.T) {
	for a := algRS256; a < algCount; a++ {
		require.Equal(t, a, parseAlgorithm(a.String()))
	}
	for _, name := range []string{"", "none", "None", "NONE", "rs256", "RS256 ", "ES256K", "HS1", "EDDSA", "Ed25519"} {
		require.Equal(t, algInvalid, parseAlgorithm(name), name)
	}
}
