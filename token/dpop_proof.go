package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"time"
)

// dpopProof is a DPoP proof JWT (RFC 9449 section 4.2), split, decoded and
// signature-checked, with the claims a resource server acts on.
type dpopProof struct {
	jkt   string // RFC 7638 thumbprint of the header's jwk
	jti   string
	htm   string
	htu   string
	ath   string
	nonce string
	iat   time.Time
}

// maxJTI bounds the jti claim: it is stored in the replay cache.
const maxJTI = 256

// parseProof checks everything about a proof that does not depend on the
// request or on time: compact JWS syntax, the header (typ dpop+jwt, an
// allowed asymmetric alg, a public jwk that fits it, no crit), the
// signature by that jwk, and the claims' presence and types. Every error
// wraps ErrDPoPProof.
func parseProof(raw string, allowed algSet, maxSize int) (*dpopProof, error) {
	if raw == "" {
		return nil, fail(ErrDPoPProof, "empty proof")
	}
	if len(raw) > maxSize {
		return nil, fail(ErrDPoPProof, "proof is %d bytes, the limit is %d", len(raw), maxSize)
	}
	h, p, s, ok := splitThree(raw)
	if !ok {
		return nil, fail(ErrDPoPProof, "proof is not a JWS in compact serialization")
	}
	hdr, err := decodePart(h)
	if err != nil {
		return nil, failWrap(ErrDPoPProof, err, "proof header")
	}
	key, jkt, alg, err := proofHeader(hdr, allowed)
	if err != nil {
		return nil, err
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, fail(ErrDPoPProof, "proof signature is not base64url")
	}
	if !verifySignature(alg, key, []byte(raw[:len(h)+1+len(p)]), sig) {
		return nil, fail(ErrDPoPProof, "%s signature does not verify with the proof's jwk", alg)
	}
	claims, err := decodePart(p)
	if err != nil {
		return nil, failWrap(ErrDPoPProof, err, "proof claims")
	}
	proof, err := proofClaims(claims)
	if err != nil {
		return nil, err
	}
	proof.jkt = jkt
	return proof, nil
}

// splitThree splits a compact JWS into its three parts, refusing line
// breaks (which Go's base64 decoder would skip).
func splitThree(raw string) (h, p, s string, ok bool) {
	if hasLineBreak(raw) || strings.Count(raw, ".") != 2 {
		return "", "", "", false
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, s, _ = strings.Cut(rest, ".")
	return h, p, s, h != "" && p != "" && s != ""
}

// decodePart decodes one base64url part holding a JSON object, with the
// strict decoder of this package (duplicate members refused).
func decodePart(part string) (map[string]any, error) {
	js, err := b64.DecodeString(part)
	if err != nil {
		return nil, err
	}
	return decodeJSONObject(string(js))
}

// proofHeader checks the proof's header and returns its key, the key's
// thumbprint and the algorithm.
func proofHeader(hdr map[string]any, allowed algSet) (*verificationKey, string, algorithm, error) {
	typ, _ := hdr["typ"].(string)
	if !strings.EqualFold(typ, "dpop+jwt") {
		return nil, "", 0, fail(ErrDPoPProof, `proof header "typ" is not "dpop+jwt"`)
	}
	if _, crit := hdr["crit"]; crit {
		return nil, "", 0, fail(ErrDPoPProof, `proof header has "crit": no JWS extensions are supported`)
	}
	name, _ := hdr["alg"].(string)
	alg := parseAlgorithm(name)
	if !allowed.has(alg) {
		return nil, "", 0, fail(ErrDPoPProof, "proof alg %s is not allowed (allowed: %s)", quoteShort(name), allowed)
	}
	jwk, ok := hdr["jwk"].(map[string]any)
	if !ok {
		return nil, "", 0, fail(ErrDPoPProof, `proof header "jwk" is missing or not an object`)
	}
	key, jkt, err := proofKey(jwk)
	if err != nil {
		return nil, "", 0, err
	}
	if key.algs&setOf(alg) == 0 {
		return nil, "", 0, fail(ErrDPoPProof, "proof alg %s does not fit its jwk", alg)
	}
	return key, jkt, alg, nil
}

// privateMembers are the JWK members of private or symmetric keys (RFC
// 7518 section 6, RFC 8037 2). A proof's jwk, and a key in a fetched key
// set, must hold a public key only.
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// proofKey turns the proof's jwk into a public key and computes its RFC
// 7638 thumbprint from the required members, which must be in their one
// canonical encoding (so that one key has one thumbprint).
func proofKey(jwk map[string]any) (*verificationKey, string, error) {
	for _, m := range privateMembers {
		if _, ok := jwk[m]; ok {
			return nil, "", fail(ErrDPoPProof, "proof jwk holds private or symmetric key material (%q)", m)
		}
	}
	kty, _ := jwk["kty"].(string)
	switch kty {
	case "EC":
		return ecProofKey(jwk)
	case "RSA":
		return rsaProofKey(jwk)
	case "OKP":
		return okpProofKey(jwk)
	}
	return nil, "", fail(ErrDPoPProof, "proof jwk kty %s is not EC, RSA or OKP", quoteShort(kty))
}

// jwkBytes decodes a base64url member of a jwk. The member's text goes
// into the thumbprint as it is, so it must be the one spelling of its
// bytes: Go's decoder skips CR and LF, which would give one key many
// thumbprints, none of them the RFC 7638 one other parties compute.
func jwkBytes(jwk map[string]any, name string) ([]byte, string, error) {
	s, ok := jwk[name].(string)
	if !ok {
		return nil, "", fail(ErrDPoPProof, "proof jwk member %q is missing or not a string", name)
	}
	b, err := b64.DecodeString(s)
	if err != nil || len(b) == 0 || hasLineBreak(s) {
		return nil, "", fail(ErrDPoPProof, "proof jwk member %q is not base64url", name)
	}
	return b, s, nil
}

func ecProofKey(jwk map[string]any) (*verificationKey, string, error) {
	crv, _ := jwk["crv"].(string)
	var curve elliptic.Curve
	var alg algorithm
	switch crv {
	case "P-256":
		curve, alg = elliptic.P256(), algES256
	case "P-384":
		curve, alg = elliptic.P384(), algES384
	case "P-521":
		curve, alg = elliptic.P521(), algES512
	default:
		return nil, "", fail(ErrDPoPProof, "proof jwk crv %s is not a supported EC curve", quoteShort(crv))
	}
	x, xs, err := jwkBytes(jwk, "x")
	if err != nil {
		return nil, "", err
	}
	y, ys, err := jwkBytes(jwk, "y")
	if err != nil {
		return nil, "", err
	}
	size := (curve.Params().BitSize + 7) / 8
	if len(x) != size || len(y) != size {
		return nil, "", fail(ErrDPoPProof, "proof jwk coordinates are not %d bytes", size)
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, "", fail(ErrDPoPProof, "proof jwk is not a point on %s", crv)
	}
	tp := thumbprint(`{"crv":"` + crv + `","kty":"EC","x":"` + xs + `","y":"` + ys + `"}`)
	return &verificationKey{ec: pub, algs: setOf(alg)}, tp, nil
}

func rsaProofKey(jwk map[string]any) (*verificationKey, string, error) {
	n, ns, err := jwkBytes(jwk, "n")
	if err != nil {
		return nil, "", err
	}
	e, es, err := jwkBytes(jwk, "e")
	if err != nil {
		return nil, "", err
	}
	if n[0] == 0 || e[0] == 0 {
		return nil, "", fail(ErrDPoPProof, "proof jwk n or e has a leading zero octet")
	}
	if len(e) > 4 {
		return nil, "", fail(ErrDPoPProof, "proof jwk exponent is too large")
	}
	var exp int
	for _, b := range e {
		exp = exp<<8 | int(b)
	}
	mod := new(big.Int).SetBytes(n)
	switch {
	case exp < 3 || exp%2 == 0 || exp > 1<<31-1:
		return nil, "", fail(ErrDPoPProof, "proof jwk exponent is not an odd number >= 3")
	case mod.BitLen() < minRSABits || mod.BitLen() > 8192:
		return nil, "", fail(ErrDPoPProof, "proof jwk RSA key of %d bits is outside %d..8192", mod.BitLen(), minRSABits)
	}
	tp := thumbprint(`{"e":"` + es + `","kty":"RSA","n":"` + ns + `"}`)
	return &verificationKey{rsa: &rsa.PublicKey{N: mod, E: exp}, algs: rsaAlgorithms}, tp, nil
}

func okpProofKey(jwk map[string]any) (*verificationKey, string, error) {
	if crv, _ := jwk["crv"].(string); crv != "Ed25519" {
		return nil, "", fail(ErrDPoPProof, "proof jwk OKP crv %s is not Ed25519", quoteShort(crv))
	}
	x, xs, err := jwkBytes(jwk, "x")
	if err != nil {
		return nil, "", err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, "", fail(ErrDPoPProof, "proof jwk Ed25519 key is not %d bytes", ed25519.PublicKeySize)
	}
	tp := thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + xs + `"}`)
	return &verificationKey{ed: ed25519.PublicKey(x), algs: setOf(algEdDSA)}, tp, nil
}

// thumbprint is the base64url SHA-256 of a JWK's canonical JSON (RFC 7638
// section 3). Members are base64url or fixed names: no escaping is needed.
func thumbprint(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:])
}

// proofClaims reads the claims of a proof: jti, htm, htu and iat are
// required, ath and nonce are strings when present.
func proofClaims(claims map[string]any) (*dpopProof, error) {
	p := &dpopProof{}
	for _, c := range [...]struct {
		name     string
		dst      *string
		required bool
	}{
		{"jti", &p.jti, true}, {"htm", &p.htm, true}, {"htu", &p.htu, true},
		{"ath", &p.ath, false}, {"nonce", &p.nonce, false},
	} {
		v, present := claims[c.name]
		if !present {
			if c.required {
				return nil, fail(ErrDPoPProof, "proof claim %s is missing", c.name)
			}
			continue
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, fail(ErrDPoPProof, "proof claim %s is not a non-empty string", c.name)
		}
		*c.dst = s
	}
	if len(p.jti) > maxJTI {
		return nil, fail(ErrDPoPProof, "proof jti is longer than %d bytes", maxJTI)
	}
	if _, present := claims["iat"]; !present {
		return nil, fail(ErrDPoPProof, "proof claim iat is missing")
	}
	iat, _, err := numericDate(claims, "iat")
	if err != nil || iat.IsZero() {
		return nil, fail(ErrDPoPProof, "proof claim iat is not a NumericDate")
	}
	p.iat = iat
	return p, nil
}
