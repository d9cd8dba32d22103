package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// RawRSAVerifier is the floor every RS256 verifier stands on: split the
// compact JWS, base64url-decode the signature, SHA-256 the signing input and
// rsa.VerifyPKCS1v15. It checks no header and no claim: it is the baseline
// of the ratios, not a verifier anyone should use.
func RawRSAVerifier(pub *rsa.PublicKey) (VerifyFunc, error) {
	if pub == nil {
		return nil, errors.New("RawRSAVerifier: nil key")
	}
	return func(raw string) error {
		dot := strings.LastIndexByte(raw, '.')
		if dot < 0 {
			return errors.New("not a compact JWS")
		}
		sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(raw[:dot]))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	}, nil
}
