package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// minRSABits is the smallest RSA modulus accepted (RFC 7518 3.3).
const minRSABits = 2048

// verificationKey is one public key extracted from a JWKS, ready for
// crypto/* verification, with the algorithms it may be used with.
type verificationKey struct {
	kid    string
	algs   algSet // allowed algorithms: the JWK's alg (or inferred) ∩ allow-list
	rsa    *rsa.PublicKey
	ec     *ecdsa.PublicKey
	ed     ed25519.PublicKey
	secret []byte // only for the configured shared secret, never from a JWKS
}

func (k *verificationKey) public() crypto.PublicKey {
	switch {
	case k.rsa != nil:
		return k.rsa
	case k.ec != nil:
		return k.ec
	case k.ed != nil:
		return k.ed
	}
	return nil
}

// sameKey reports whether k and o hold the same public key for the same algorithms.
func (k *verificationKey) sameKey(o *verificationKey) bool {
	if k.kid != o.kid || k.algs != o.algs {
		return false
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	kp, ok := k.public().(equaler)
	return ok && o.public() != nil && kp.Equal(o.public())
}

// keySet is an immutable snapshot of usable keys, indexed by kid. A token
// without kid may be checked against every key allowing its algorithm.
type keySet struct {
	byKid   map[string][]*verificationKey
	all     []*verificationKey
	fetched time.Time // when a fetched set arrived (configured clock); zero for a fixed one
}

func (s *keySet) len() int {
	if s == nil {
		return 0
	}
	return len(s.all)
}

// candidates returns the keys a token with this kid may be verified with:
// the keys with exactly that kid (kid is an opaque lookup key, compared
// byte for byte), or every key if the token has no kid.
func (s *keySet) candidates(kid string, hasKid bool) []*verificationKey {
	if s == nil {
		return nil
	}
	if hasKid {
		return s.byKid[kid]
	}
	return s.all
}

// contains reports whether k (by identity) is still in the set; cached
// verifications made with a key that left the set are dropped.
func (s *keySet) contains(k *verificationKey) bool {
	if s == nil {
		return false
	}
	for _, c := range s.byKid[k.kid] {
		if c == k {
			return true
		}
	}
	return false
}

// skippedKey records why a JWK was not used (logged, never silent).
type skippedKey struct {
	kid    string
	reason string
}

// newKeySet extracts the usable public keys of set. prev (may be nil) is the
// set being replaced: keys that did not change keep their identity so that
// cached verifications made with them stay valid.
func newKeySet(set jwk.Set, allowed algSet, prev *keySet) (*keySet, []skippedKey) {
	ks := &keySet{byKid: make(map[string][]*verificationKey, set.Len())}
	var skipped []skippedKey
	for i := range set.Len() {
		key, _ := set.Key(i)
		vk, err := extractKey(key, allowed)
		if err != nil {
			kid, _ := key.KeyID()
			skipped = append(skipped, skippedKey{kid: kid, reason: err.Error()})
			continue
		}
		if prev != nil {
			for _, old := range prev.byKid[vk.kid] {
				if old.sameKey(vk) {
					vk = old
					break
				}
			}
		}
		ks.byKid[vk.kid] = append(ks.byKid[vk.kid], vk)
		ks.all = append(ks.all, vk)
	}
	return ks, skipped
}

// extractKey turns one JWK into a verificationKey, or says why it cannot be used.
func extractKey(key jwk.Key, allowed algSet) (*verificationKey, error) {
	if uk, ok := key.(jwk.UnsupportedKey); ok {
		return nil, fmt.Errorf("unsupported key type %q: %v", uk.KeyType().String(), uk.Reason())
	}
	if kty := key.KeyType().String(); kty == "oct" {
		return nil, fmt.Errorf("symmetric (oct) keys are never taken from a JWKS")
	}
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return nil, fmt.Errorf("key use is %q, not \"sig\"", use)
	}
	if ops, ok := key.KeyOps(); ok && !slices.Contains([]jwk.KeyOperation(ops), jwk.KeyOpVerify) {
		return nil, fmt.Errorf("key_ops does not include \"verify\"")
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("no public key: %w", err)
	}
	var raw any
	if err := jwk.Export(pub, &raw); err != nil {
		return nil, fmt.Errorf("cannot export key: %w", err)
	}
	vk := &verificationKey{}
	vk.kid, _ = key.KeyID()
	var usable algSet // what the key type admits
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is shorter than %d", k.N.BitLen(), minRSABits)
		}
		vk.rsa, usable = k, rsaAlgorithms
	case *ecdsa.PublicKey:
		vk.ec = k
		switch k.Curve {
		case elliptic.P256():
			usable = setOf(algES256)
		case elliptic.P384():
			usable = setOf(algES384)
		case elliptic.P521():
			usable = setOf(algES512)
		default:
			return nil, fmt.Errorf("unsupported EC curve")
		}
	case ed25519.PublicKey:
		vk.ed, usable = k, setOf(algEdDSA)
	default:
		return nil, fmt.Errorf("unsupported key type %T", raw)
	}
	if err := checkX5C(key, vk.public()); err != nil {
		return nil, err
	}
	if a, ok := key.Algorithm(); ok && a.String() != "" {
		alg := parseAlgorithm(a.String())
		if !usable.has(alg) {
			return nil, fmt.Errorf("key alg %q does not fit the key type", a.String())
		}
		usable = setOf(alg)
	}
	vk.algs = usable & allowed
	if vk.algs == 0 {
		return nil, fmt.Errorf("key allows only algorithms outside the allow-list (%s)", usable)
	}
	return vk, nil
}
