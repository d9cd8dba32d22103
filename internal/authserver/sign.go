package authserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
)

// SignCompact builds a compact JWS from an already encoded header and payload:
// base64url(header) "." base64url(payload) "." base64url(signature). It signs
// exactly what it is given, without checking that the header names alg, so
// tests can build malformed and hostile tokens.
//
// key depends on alg: a crypto.Signer (*rsa.PrivateKey for RS* and PS*,
// *ecdsa.PrivateKey for ES*, ed25519.PrivateKey for EdDSA), a []byte secret
// for HS256/HS384/HS512, and nil for "none" (empty signature).
func SignCompact(header, payload []byte, alg string, key any) (string, error) {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := signBytes([]byte(input), alg, key)
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func signBytes(input []byte, alg string, key any) ([]byte, error) {
	if strings.EqualFold(alg, "none") {
		return nil, nil
	}
	switch alg {
	case "HS256", "HS384", "HS512":
		secret, ok := key.([]byte)
		if !ok {
			return nil, fmt.Errorf("%w: %s needs a []byte secret, got %T", ErrUnsupportedAlgorithm, alg, key)
		}
		mac := hmac.New(hashFor(alg).New, secret)
		mac.Write(input)
		return mac.Sum(nil), nil
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: %s needs an *rsa.PrivateKey, got %T", ErrUnsupportedAlgorithm, alg, key)
		}
		h := digest(hashFor(alg), input)
		if alg[0] == 'P' {
			return rsa.SignPSS(rand.Reader, priv, hashFor(alg), h, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, priv, hashFor(alg), h)
	case "ES256", "ES384", "ES512":
		priv, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: %s needs an *ecdsa.PrivateKey, got %T", ErrUnsupportedAlgorithm, alg, key)
		}
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest(hashFor(alg), input))
		if err != nil {
			return nil, fmt.Errorf("authserver: ecdsa sign: %w", err)
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case "EdDSA":
		priv, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: EdDSA needs an ed25519.PrivateKey, got %T", ErrUnsupportedAlgorithm, key)
		}
		return ed25519.Sign(priv, input), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
}

func hashFor(alg string) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

func digest(h crypto.Hash, input []byte) []byte {
	var hh hash.Hash = h.New()
	hh.Write(input)
	return hh.Sum(nil)
}

// signJSON marshals header and claims and signs them with key.
func signJSON(header, claims map[string]any, alg string, key any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("authserver: encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("authserver: encode claims: %w", err)
	}
	return SignCompact(h, p, alg, key)
}
