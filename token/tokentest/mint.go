package tokentest

import (
	"crypto"
	"encoding/json"
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Mint returns an RS256 access token (typ at+jwt, kid of the current key)
// signed by the issuer. iss, aud, iat, exp (iat + token lifetime) and jti are
// filled in unless claims has them; a claim set to nil is removed (e.g.
// "exp": nil). Mint panics if the claims cannot be encoded as JSON.
func (iss *Issuer) Mint(claims map[string]any) string {
	return iss.MintWith("RS256", nil, claims)
}

// MintES256 is Mint signed with the issuer's EC P-256 key (ES256).
func (iss *Issuer) MintES256(claims map[string]any) string {
	return iss.MintWith("ES256", nil, claims)
}

// MintWith signs claims with the issuer's key for alg (RS256, RS384, RS512,
// PS256, PS384, PS512, ES256, ES384, ES512, EdDSA; a key for an algorithm
// other than RS256 and ES256 is created and published on first use). Entries
// of header are added to, or replace, the default header (alg, kid, typ
// "at+jwt"); nil removes one. It signs whatever it is given, so it also makes
// hostile tokens: an embedded "jwk", a "jku"/"x5u" pointing elsewhere, an
// unknown "crit", a "kid" of "../../etc/passwd", an "alg" that lies. For
// "none" and HS* use SignRaw. It panics on an unsupported alg or claims that
// cannot be encoded.
func (iss *Issuer) MintWith(alg string, header, claims map[string]any) string {
	tok, err := iss.as.MintWithHeaders(alg, header, claims)
	if err != nil {
		panic(fmt.Sprintf("tokentest: MintWith: %v", err))
	}
	return tok
}

// MintOpaque returns an opaque (non-JWT) access token with claims (defaults
// as Mint) that the introspection endpoint resolves.
func (iss *Issuer) MintOpaque(claims map[string]any) string {
	return iss.as.MintOpaque(claims)
}

// SignRaw signs exactly the given header and payload bytes (base64url-encoded
// here) with alg and key: a crypto.Signer for RS*/PS*/ES*/EdDSA, a []byte
// secret for HS256/384/512, nil for "none" (empty signature, any case of the
// name). With key nil and another alg, the issuer's own key for alg is used.
// Use it for tokens no well-behaved library would produce: duplicate JSON
// keys, an HS256 token whose secret is the issuer's RSA public key, a payload
// that is not JSON. It panics on a key that does not fit alg.
func (iss *Issuer) SignRaw(header, payload []byte, alg string, key any) string {
	if key == nil && !isNone(alg) {
		k, _, err := iss.as.SigningKey(alg)
		if err != nil {
			panic(fmt.Sprintf("tokentest: SignRaw: %v", err))
		}
		key = k
	}
	tok, err := authserver.SignCompact(header, payload, alg, key)
	if err != nil {
		panic(fmt.Sprintf("tokentest: SignRaw: %v", err))
	}
	return tok
}

func isNone(alg string) bool {
	return len(alg) == 4 && (alg[0]|0x20) == 'n' && (alg[1]|0x20) == 'o' && (alg[2]|0x20) == 'n' && (alg[3]|0x20) == 'e'
}

// SigningKey returns the issuer's current private key for alg and its kid.
func (iss *Issuer) SigningKey(alg string) (crypto.Signer, string) {
	k, kid, err := iss.as.SigningKey(alg)
	if err != nil {
		panic(fmt.Sprintf("tokentest: SigningKey: %v", err))
	}
	return k, kid
}

// PublicKey returns the issuer's current public key for alg (e.g. the RSA
// key, to build an HS256 token that uses it as the HMAC secret).
func (iss *Issuer) PublicKey(alg string) crypto.PublicKey {
	k, _ := iss.SigningKey(alg)
	return k.Public()
}

// AddKeyClient registers a private_key_jwt client (SMART Backend Services)
// with one public key, which may be given as a private key (only its public
// part is registered). It panics if the key or scope is invalid.
func (iss *Issuer) AddKeyClient(id string, key jwk.Key, scope string) {
	set, err := authserver.PublicJWKS(key)
	if err != nil {
		panic(fmt.Sprintf("tokentest: AddKeyClient: %v", err))
	}
	iss.AddClient(Client{ID: id, Scope: scope, JWKS: json.RawMessage(set)})
}
