package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Some identity providers publish a signing key only as an X.509
// certificate (an "x5c" member without "n"/"e" or "x"/"y"). jwx cannot
// parse such a JWK, so before parsing the key set each such key is completed
// with the public key of its leaf certificate (the first entry of x5c,
// RFC 7517 4.7). The certificate is not validated as a chain: the key set
// is trusted as a whole, through the TLS connection it was fetched over.

// completeX5C returns body with every x5c-only RSA or EC key given the
// public key members of its leaf certificate. Keys it cannot complete are
// left as they are (jwx then reports them unusable, and they are skipped
// with that reason). body is returned unchanged when nothing needs doing.
func completeX5C(body []byte) []byte {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	var keys []map[string]json.RawMessage
	if json.Unmarshal(doc["keys"], &keys) != nil {
		return body
	}
	changed := false
	for _, k := range keys {
		if completeKey(k) {
			changed = true
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(keys)
	if err != nil {
		return body
	}
	doc["keys"] = out
	if out, err = json.Marshal(doc); err != nil {
		return body
	}
	return out
}

// completeKey adds n/e (RSA) or crv/x/y (EC) from the leaf certificate of a
// key that has x5c and lacks them. It reports whether it changed k.
func completeKey(k map[string]json.RawMessage) bool {
	var kty string
	if _, ok := k["x5c"]; !ok || json.Unmarshal(k["kty"], &kty) != nil {
		return false
	}
	if _, hasN := k["n"]; kty == "RSA" && hasN {
		return false
	}
	if _, hasX := k["x"]; kty == "EC" && hasX {
		return false
	}
	leaf, err := leafCertificate(k["x5c"])
	if err != nil {
		return false
	}
	enc := func(b []byte) json.RawMessage {
		r, _ := json.Marshal(base64.RawURLEncoding.EncodeToString(b))
		return r
	}
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if kty != "RSA" {
			return false
		}
		k["n"], k["e"] = enc(pub.N.Bytes()), enc(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		ek, err := jwk.Import(pub)
		if kty != "EC" || err != nil {
			return false
		}
		b, err := json.Marshal(ek)
		var m map[string]json.RawMessage
		if err != nil || json.Unmarshal(b, &m) != nil {
			return false
		}
		k["crv"], k["x"], k["y"] = m["crv"], m["x"], m["y"]
	default:
		return false
	}
	return true
}

// leafCertificate parses the first certificate of an x5c array (standard
// base64 DER, RFC 7517 4.7).
func leafCertificate(x5c json.RawMessage) (*x509.Certificate, error) {
	var chain []string
	if err := json.Unmarshal(x5c, &chain); err != nil || len(chain) == 0 {
		return nil, errors.New("x5c is not a non-empty array of strings")
	}
	der, err := base64.StdEncoding.DecodeString(chain[0])
	if err != nil {
		return nil, errors.New("x5c[0] is not base64")
	}
	return x509.ParseCertificate(der)
}

// checkX5C holds a key with a certificate to what the certificate says: the
// leaf's public key must be the key's (RFC 7517 4.7), and an x5t#S256
// thumbprint, when present, must be the SHA-256 of the leaf (RFC 7517 4.9).
// A key failing either is not used: its members contradict each other, and
// whichever was meant, the other was published by mistake or by an attacker.
func checkX5C(key jwk.Key, pub crypto.PublicKey) error {
	chain, ok := key.X509CertChain()
	if !ok || chain.Len() == 0 {
		return nil
	}
	b64der, _ := chain.Get(0)
	der, err := base64.StdEncoding.DecodeString(string(b64der))
	if err != nil {
		return fmt.Errorf("x5c[0] is not base64")
	}
	if want, ok := key.X509CertThumbprintS256(); ok {
		sum := sha256.Sum256(der)
		if base64.RawURLEncoding.EncodeToString(sum[:]) != want {
			return errors.New("x5t#S256 is not the SHA-256 thumbprint of the x5c leaf certificate")
		}
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("x5c[0] is not a certificate: %w", err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := pub.(equaler); !ok || !e.Equal(leaf.PublicKey) {
		return errors.New("the x5c leaf certificate holds a different public key than the JWK")
	}
	return nil
}
