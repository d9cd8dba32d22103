package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"strings"
)

// algorithm is a JWS "alg" value the verifier knows how to check.
type algorithm uint8

const (
	algInvalid algorithm = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algHS256
	algHS384
	algHS512
	algCount
)

var algNames = [algCount]string{
	algRS256: "RS256", algRS384: "RS384", algRS512: "RS512",
	algPS256: "PS256", algPS384: "PS384", algPS512: "PS512",
	algES256: "ES256", algES384: "ES384", algES512: "ES512",
	algEdDSA: "EdDSA",
	algHS256: "HS256", algHS384: "HS384", algHS512: "HS512",
}

func (a algorithm) String() string {
	if a == algInvalid || a >= algCount {
		return "invalid"
	}
	return algNames[a]
}

// parseAlgorithm maps an alg header value to an algorithm. Matching is exact
// and case-sensitive, as JWA defines the names: "rs256" and "None" are not
// algorithms. "none" is never an algorithm here.
func parseAlgorithm(name string) algorithm {
	for a := algRS256; a < algCount; a++ {
		if algNames[a] == name {
			return a
		}
	}
	return algInvalid
}

func (a algorithm) isHMAC() bool  { return a >= algHS256 && a <= algHS512 }
func (a algorithm) isRSA() bool   { return a >= algRS256 && a <= algPS512 }
func (a algorithm) isECDSA() bool { return a >= algES256 && a <= algES512 }

// hash returns the hash function of the algorithm (0 for EdDSA).
func (a algorithm) hash() crypto.Hash {
	switch a {
	case algRS256, algPS256, algES256, algHS256:
		return crypto.SHA256
	case algRS384, algPS384, algES384, algHS384:
		return crypto.SHA384
	case algRS512, algPS512, algES512, algHS512:
		return crypto.SHA512
	}
	return 0
}

// curve returns the curve an ECDSA algorithm requires (RFC 7518 3.4).
func (a algorithm) curve() elliptic.Curve {
	switch a {
	case algES256:
		return elliptic.P256()
	case algES384:
		return elliptic.P384()
	case algES512:
		return elliptic.P521()
	}
	return nil
}

// algSet is a set of algorithms.
type algSet uint32

func (s algSet) has(a algorithm) bool { return a != algInvalid && s&(1<<a) != 0 }
func (s algSet) with(a algorithm) algSet {
	return s | 1<<a
}

func (s algSet) String() string {
	var names []string
	for a := algRS256; a < algCount; a++ {
		if s.has(a) {
			names = append(names, a.String())
		}
	}
	return strings.Join(names, " ")
}

func setOf(algs ...algorithm) algSet {
	var s algSet
	for _, a := range algs {
		s = s.with(a)
	}
	return s
}

var (
	// defaultAlgorithms is the allow-list unless configured otherwise.
	defaultAlgorithms = setOf(algRS256, algRS384, algPS256, algPS384, algPS512, algES256, algES384)
	rsaAlgorithms     = setOf(algRS256, algRS384, algRS512, algPS256, algPS384, algPS512)
	hmacAlgorithms    = setOf(algHS256, algHS384, algHS512)
)

// digest hashes the signing input with h (SHA-2 family only).
func digest(h crypto.Hash, data []byte, dst *[64]byte) []byte {
	switch h {
	case crypto.SHA256:
		*(*[32]byte)(dst[:32]) = sha256.Sum256(data)
		return dst[:32]
	case crypto.SHA384:
		*(*[48]byte)(dst[:48]) = sha512.Sum384(data)
		return dst[:48]
	default:
		*dst = sha512.Sum512(data)
		return dst[:64]
	}
}

// verifySignature checks sig over signingInput with key under alg. The
// caller has already made sure the key is allowed for alg.
func verifySignature(alg algorithm, key *verificationKey, signingInput, sig []byte) bool {
	var buf [64]byte
	switch {
	case alg.isRSA():
		if key.rsa == nil {
			return false
		}
		h := alg.hash()
		sum := digest(h, signingInput, &buf)
		if alg <= algRS512 {
			return rsa.VerifyPKCS1v15(key.rsa, h, sum, sig) == nil
		}
		return rsa.VerifyPSS(key.rsa, h, sum, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case alg.isECDSA():
		if key.ec == nil || key.ec.Curve != alg.curve() {
			return false
		}
		size := (key.ec.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		sum := digest(alg.hash(), signingInput, &buf)
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(key.ec, sum, r, s)
	case alg == algEdDSA:
		if len(key.ed) != ed25519.PublicKeySize {
			return false
		}
		return ed25519.Verify(key.ed, signingInput, sig)
	case alg.isHMAC():
		if len(key.secret) == 0 {
			return false
		}
		mac := hmac.New(alg.hash().New, key.secret)
		mac.Write(signingInput)
		return hmac.Equal(mac.Sum(buf[:0]), sig)
	}
	return false
}
