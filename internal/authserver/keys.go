package authserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ErrUnsupportedAlgorithm is returned when a signing algorithm is not one the
// server can create keys for.
var ErrUnsupportedAlgorithm = errors.New("authserver: unsupported signing algorithm")

// signingKey is one key pair of the server's key ring.
type signingKey struct {
	alg     string
	kid     string
	private crypto.Signer
	public  jwk.Key // public JWK with kid, alg and use set
}

// newSigningKey generates a fresh key pair for alg. The kid is the key's
// RFC 7638 thumbprint (SHA-256, base64url).
func newSigningKey(alg string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("authserver: generate %s key: %w", alg, err)
	}
	pub, err := jwk.Import(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("authserver: import %s public key: %w", alg, err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("authserver: thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for k, v := range map[string]string{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			return nil, fmt.Errorf("authserver: set %s on key: %w", k, err)
		}
	}
	return &signingKey{alg: alg, kid: kid, private: priv, public: pub}, nil
}

// keyRing is the server's set of keys. current holds the signing key per
// algorithm; published holds every key served in the JWKS (current and
// previous, unless retired). It is guarded by Server.mu.
type keyRing struct {
	current   map[string]*signingKey
	published []*signingKey
}

func (r *keyRing) byKID(kid string) *signingKey {
	for _, k := range r.published {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// jwksJSON renders the published public keys as a JWK Set document.
func (r *keyRing) jwksJSON() ([]byte, error) {
	keys := make([]jwk.Key, 0, len(r.published))
	for _, k := range r.published {
		keys = append(keys, k.public)
	}
	return json.Marshal(struct {
		Keys []jwk.Key `json:"keys"`
	}{Keys: keys})
}
