package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var b64u = base64.RawURLEncoding

// proofSigner signs DPoP proofs with arbitrary headers and claims, so that
// tests can build hostile ones.
type proofSigner struct {
	key crypto.Signer
	alg string
	jwk map[string]any // public members
}

func newProofSigner(t testing.TB, alg string) *proofSigner {
	t.Helper()
	s := &proofSigner{alg: alg}
	switch alg {
	case "ES256", "ES384", "ES512":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		require.NoError(t, err)
		size := (curve.Params().BitSize + 7) / 8
		s.key = k
		s.jwk = map[string]any{"kty": "EC", "crv": curve.Params().Name,
			"x": b64u.EncodeToString(k.X.FillBytes(make([]byte, size))),
			"y": b64u.EncodeToString(k.Y.FillBytes(make([]byte, size)))}
	case "RS256", "PS256":
		k := testRSAKey(t)
		s.key = k
		s.jwk = map[string]any{"kty": "RSA", "n": b64u.EncodeToString(k.N.Bytes()),
			"e": b64u.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	case "EdDSA":
		pub, k, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		s.key = k
		s.jwk = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64u.EncodeToString(pub)}
	default:
		t.Fatalf("no signer for %s", alg)
	}
	return s
}

var rsaKeyCache *rsa.PrivateKey

// testRSAKey is one 2048-bit key per test binary (generating is slow).
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	if rsaKeyCache == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		rsaKeyCache = k
	}
	return rsaKeyCache
}

// header is the header of a valid proof.
func (s *proofSigner) header() map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": s.alg, "jwk": s.jwk}
}

// claims are the claims of a valid proof for a request.
func proofClaims(method, url, accessToken string, iat time.Time) map[string]any {
	c := map[string]any{"jti": b64u.EncodeToString(randomBytes(12)), "htm": method, "htu": url, "iat": iat.Unix()}
	if accessToken != "" {
		c["ath"] = athOf(accessToken)
	}
	return c
}

func athOf(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return b64u.EncodeToString(sum[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// signRaw signs header and claims JSON as given.
func (s *proofSigner) signRaw(t testing.TB, header, claims []byte) string {
	t.Helper()
	input := b64u.EncodeToString(header) + "." + b64u.EncodeToString(claims)
	return input + "." + b64u.EncodeToString(s.sign(t, s.alg, []byte(input)))
}

// sign makes a JWS signature of input with the signer's key under alg.
func (s *proofSigner) sign(t testing.TB, alg string, input []byte) []byte {
	t.Helper()
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		h := map[int]crypto.Hash{256: crypto.SHA256, 384: crypto.SHA384, 521: crypto.SHA512}[k.Curve.Params().BitSize]
		hh := h.New()
		hh.Write(input)
		r, ss, err := ecdsa.Sign(rand.Reader, k, hh.Sum(nil))
		require.NoError(t, err)
		size := (k.Curve.Params().BitSize + 7) / 8
		return append(r.FillBytes(make([]byte, size)), ss.FillBytes(make([]byte, size))...)
	case *rsa.PrivateKey:
		sum := sha256.Sum256(input)
		var sig []byte
		var err error
		if alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
		}
		require.NoError(t, err)
		return sig
	case ed25519.PrivateKey:
		return ed25519.Sign(k, input)
	}
	t.Fatal("unknown key")
	return nil
}

// sign signs header and claims maps.
func (s *proofSigner) signMaps(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	return s.signRaw(t, h, c)
}

// proof is a valid proof for the request.
func (s *proofSigner) proof(t testing.TB, method, url, accessToken string, iat time.Time) string {
	return s.signMaps(t, s.header(), proofClaims(method, url, accessToken, iat))
}

// thumbprint is the RFC 7638 thumbprint of the signer's key, computed by
// encoding/json (which sorts map keys: the canonical member order).
func (s *proofSigner) thumbprint(t testing.TB) string {
	req := map[string]any{}
	for _, m := range []string{"kty", "crv", "x", "y", "n", "e"} {
		if v, ok := s.jwk[m]; ok {
			req[m] = v
		}
	}
	js, err := json.Marshal(req)
	require.NoError(t, err)
	sum := sha256.Sum256(js)
	return b64u.EncodeToString(sum[:])
}
