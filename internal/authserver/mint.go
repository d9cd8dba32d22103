package authserver

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// AccessTokenType is the typ header of issued access tokens (RFC 9068).
const AccessTokenType = "at+jwt"

// Mint signs claims as an RS256 access token with the current RSA key. Unless
// given, iss (the issuer), aud (the audience), iat (now), exp (now + token
// lifetime) and jti (random) are filled in; a claim set to nil is removed
// (e.g. "exp": nil mints a token without exp). The header carries alg, kid
// and typ "at+jwt".
func (s *Server) Mint(claims map[string]any) (string, error) {
	return s.MintWithHeaders("RS256", nil, claims)
}

// MintWith is Mint with another signature algorithm (RS256, RS384, RS512,
// PS256, PS384, PS512, ES256, ES384, ES512, EdDSA). A key for an algorithm
// other than RS256 and ES256 is generated on first use and published in the
// JWKS from then on.
func (s *Server) MintWith(alg string, claims map[string]any) (string, error) {
	return s.MintWithHeaders(alg, nil, claims)
}

// MintWithHeaders is MintWith with control over the JOSE header: entries of
// header are added to (or replace) the defaults alg, kid and typ; a header
// set to nil is removed. It signs whatever it is given, so tests can build
// hostile tokens (jwk, jku, x5u, crit, odd kid, a lying alg).
func (s *Server) MintWithHeaders(alg string, header, claims map[string]any) (string, error) {
	k, err := s.currentKey(alg)
	if err != nil {
		return "", err
	}
	h := map[string]any{"alg": alg, "kid": k.kid, "typ": AccessTokenType}
	applyOverrides(h, header)
	return signJSON(h, s.defaultClaims(claims), alg, k.private)
}

// defaultClaims fills in iss, aud, iat, exp and jti unless claims has them.
func (s *Server) defaultClaims(claims map[string]any) map[string]any {
	now := s.now()
	c := map[string]any{
		"iss": s.issuer,
		"aud": s.audience,
		"iat": now.Unix(),
		"exp": now.Add(s.lifetime).Unix(),
		"jti": randomID(),
	}
	applyOverrides(c, claims)
	return c
}

// applyOverrides copies src into dst, deleting keys whose value is nil.
func applyOverrides(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

// SigningKey returns the current private key for alg and its kid, creating
// (and publishing) one if the server has none for alg yet. It exists so
// tests can sign arbitrary bytes with SignCompact.
func (s *Server) SigningKey(alg string) (crypto.Signer, string, error) {
	k, err := s.currentKey(alg)
	if err != nil {
		return nil, "", err
	}
	return k.private, k.kid, nil
}

func (s *Server) currentKey(alg string) (*signingKey, error) {
	s.mu.RLock()
	k := s.keys.current[alg]
	s.mu.RUnlock()
	if k != nil {
		return k, nil
	}
	nk, err := newSigningKey(alg)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys.current[alg]; k != nil { // another goroutine won
		return k, nil
	}
	s.keys.current[alg] = nk
	s.keys.published = append(s.keys.published, nk)
	return nk, nil
}

// RotateKeys replaces every current signing key by a fresh one. The new keys
// are published at once. With retireOld the previous keys leave the JWKS
// (tokens they signed no longer introspect as active); otherwise they stay
// published so tokens signed before the rotation keep verifying.
func (s *Server) RotateKeys(retireOld bool) error {
	s.mu.RLock()
	algs := make([]string, 0, len(s.keys.current))
	for _, k := range s.keys.published { // keep the publication order
		if s.keys.current[k.alg] == k {
			algs = append(algs, k.alg)
		}
	}
	s.mu.RUnlock()
	fresh := make(map[string]*signingKey, len(algs))
	for _, alg := range algs {
		k, err := newSigningKey(alg)
		if err != nil {
			return err
		}
		fresh[alg] = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if retireOld {
		s.keys.published = nil
	}
	s.keys.current = maps.Clone(fresh)
	for _, alg := range algs {
		s.keys.published = append(s.keys.published, fresh[alg])
	}
	return nil
}

// KeyIDs returns the kids of the published keys, oldest first.
func (s *Server) KeyIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, len(s.keys.published))
	for i, k := range s.keys.published {
		out[i] = k.kid
	}
	return out
}

// JWKS returns the published public keys as a JWK Set document, as served
// at {issuer}/oauth2/jwks.
func (s *Server) JWKS() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, err := s.keys.jwksJSON()
	if err != nil {
		return nil, fmt.Errorf("authserver: encode JWKS: %w", err)
	}
	return b, nil
}

// randomID returns 128 random bits, base64url encoded.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// KeySet returns the published public keys as a jwk.Set.
func (s *Server) KeySet() (jwk.Set, error) {
	b, err := s.JWKS()
	if err != nil {
		return nil, err
	}
	return jwk.Parse(b)
}
