package authserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// opaqueToken is the server-side record of an opaque access token.
type opaqueToken struct {
	claims map[string]any
	exp    time.Time
}

// minPurge is the size below which expired opaque tokens and revocations
// are not purged.
const minPurge = 1024

// maxTokenBytes bounds tokens accepted by introspection and revocation.
const maxTokenBytes = 16 << 10

// MintOpaque issues an opaque access token (random, not a JWT) for claims,
// with the same defaults as Mint. Only introspection can resolve it.
func (s *Server) MintOpaque(claims map[string]any) string {
	c := s.defaultClaims(claims)
	tok := randomID() + randomID()
	exp := s.now().Add(s.lifetime)
	if v, ok := numberClaim(c["exp"]); ok {
		exp = time.Unix(v, 0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.opaqueDB) >= s.opaquePurgeAt { // amortised: purge when the map has doubled
		now := s.now()
		for k, t := range s.opaqueDB {
			if !now.Before(t.exp) {
				delete(s.opaqueDB, k)
			}
		}
		s.opaquePurgeAt = max(minPurge, 2*len(s.opaqueDB))
	}
	s.opaqueDB[tokenHash(tok)] = opaqueToken{claims: c, exp: exp}
	return tok
}

// Introspect reports whether token is an active access token of this server
// (signed by a published key or issued opaque, iss = issuer, within exp/nbf,
// not revoked) and returns its claims.
func (s *Server) Introspect(token string) (map[string]any, bool) {
	if token == "" || len(token) > maxTokenBytes {
		return nil, false
	}
	h := tokenHash(token)
	s.mu.RLock()
	_, revoked := s.revoked[revocationKey(token)]
	opq, isOpaque := s.opaqueDB[h]
	s.mu.RUnlock()
	if revoked {
		return nil, false
	}
	var claims map[string]any
	if isOpaque {
		claims = opq.claims
	} else {
		var ok bool
		if claims, ok = s.verifyOwnToken(token); !ok {
			return nil, false
		}
	}
	if !s.timeValid(claims) {
		return nil, false
	}
	if iss, _ := claims["iss"].(string); iss != s.issuer {
		return nil, false
	}
	out := make(map[string]any, len(claims)+2)
	for k, v := range claims {
		out[k] = v
	}
	return out, true
}

// verifyOwnToken checks the signature of a JWT against the published keys
// (kid lookup, alg must be the key's) and returns its claims.
func (s *Server) verifyOwnToken(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !canonicalSegment(parts[0]) || !canonicalSegment(parts[1]) || !canonicalSegment(parts[2]) {
		return nil, false
	}
	var header map[string]json.RawMessage
	var alg, kid string
	if decodeSegment(parts[0], &header) != nil || stringMember(header, "alg", &alg) != nil || stringMember(header, "kid", &kid) != nil {
		return nil, false
	}
	if _, crit := header["crit"]; crit {
		return nil, false
	}
	s.mu.RLock()
	k := s.keys.byKID(kid)
	s.mu.RUnlock()
	if k == nil || k.alg != alg {
		return nil, false
	}
	sigAlg, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return nil, false
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(sigAlg, k.private.Public()))
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if dec.Decode(&claims) != nil || claims == nil {
		return nil, false
	}
	return claims, true
}

// timeValid checks exp (required) and nbf against the clock.
func (s *Server) timeValid(claims map[string]any) bool {
	now := s.now().Unix()
	exp, ok := numberClaim(claims["exp"])
	if !ok || now >= exp {
		return false
	}
	if v, present := claims["nbf"]; present {
		nbf, ok := numberClaim(v)
		if !ok || nbf > now {
			return false
		}
	}
	return true
}

// numberClaim reads a NumericDate claim as whole seconds.
func numberClaim(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		return int64(f), err == nil
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}

// revokedMargin is how long past a token's exp its revocation is kept: the
// largest clock leeway a token.Verifier grants (WithLeeway, at most 5
// min), during which one that asks Revoked still accepts the token.
const revokedMargin = 5 * time.Minute

// Revoke makes token inactive for introspection (RFC 7009). Verifiers that
// check JWT signatures locally still accept it until it expires, unless
// they ask Revoked.
func (s *Server) Revoke(token string) {
	if token == "" || len(token) > maxTokenBytes {
		return
	}
	until := s.now().Add(s.lifetime)
	if claims, ok := s.verifyOwnToken(token); ok {
		if exp, ok := numberClaim(claims["exp"]); ok && time.Unix(exp, 0).After(until) {
			until = time.Unix(exp, 0)
		}
	}
	h := tokenHash(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.revoked) >= s.revokedPurgeAt {
		now := s.now()
		for k, t := range s.revoked {
			if now.After(t) {
				delete(s.revoked, k)
			}
		}
		s.revokedPurgeAt = max(minPurge, 2*len(s.revoked))
	}
	if opq, ok := s.opaqueDB[h]; ok {
		delete(s.opaqueDB, h)
		if opq.exp.After(until) {
			until = opq.exp
		}
	}
	s.revoked[revocationKey(token)] = until.Add(revokedMargin)
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// revocationKey is the revocation list's key for token. For a JWS it is
// the hash of the signed part (header and payload) without the signature:
// the same token with its signature written another way (the unused bits
// of the last base64url character, padding, the standard alphabet, a
// line break a lenient decoder skips) or another valid signature of the
// same content (ECDSA's (r, n-s)) is still the revoked token. Opaque
// tokens have no dots and are hashed whole.
func revocationKey(token string) string {
	if strings.Count(token, ".") == 2 {
		token = token[:strings.LastIndexByte(token, '.')]
	}
	return tokenHash(token)
}

// canonicalSegment reports whether seg is written exactly as unpadded
// base64url encodes what it decodes to, so that one token has one
// spelling.
func canonicalSegment(seg string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	return err == nil && base64.RawURLEncoding.EncodeToString(b) == seg
}

// handleIntrospect serves POST {issuer}/oauth2/introspect (RFC 7662). The
// caller authenticates as a registered client.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, oerr := readForm(w, r)
	if oerr == nil {
		_, _, oerr = s.authenticateClient(r, form)
	}
	if oerr == nil && form.Get("token") == "" {
		oerr = errInvalidRequest("token is required")
	}
	if oerr != nil {
		s.log.Info("authserver: introspection refused", "error", oerr.Code, "reason", oerr.Description)
		writeOAuthError(w, oerr)
		return
	}
	claims, active := s.Introspect(form.Get("token"))
	if !active {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	claims["active"] = true
	claims["token_type"] = "Bearer"
	if _, bound := claims["cnf"]; bound {
		claims["token_type"] = "DPoP" // RFC 9449 section 6.2
	}
	writeJSON(w, http.StatusOK, claims)
}

// handleRevoke serves POST {issuer}/oauth2/revoke (RFC 7009). A client may
// revoke only its own tokens; unknown tokens are answered 200 as the RFC says.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, oerr := readForm(w, r)
	var c *registeredClient
	if oerr == nil {
		c, _, oerr = s.authenticateClient(r, form)
	}
	if oerr == nil && form.Get("token") == "" {
		oerr = errInvalidRequest("token is required")
	}
	if oerr != nil {
		writeOAuthError(w, oerr)
		return
	}
	tok := form.Get("token")
	if claims, ok := s.Introspect(tok); ok {
		if owner, _ := claims["client_id"].(string); owner != c.ID {
			writeOAuthError(w, &oauthError{status: http.StatusBadRequest, Code: "unauthorized_client", Description: "the token was not issued to this client"})
			return
		}
		s.Revoke(tok)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// Revoked reports whether token was revoked here (RFC 7009), without
// checking anything else about it: a resource server that verifies this
// server's JWTs itself asks it on every use, so it must be cheap (a hash
// and a map lookup). A JWT is matched by its header and payload, so it
// stays revoked whatever signature bytes or spelling of them it carries.
func (s *Server) Revoked(token string) bool {
	if token == "" || len(token) > maxTokenBytes {
		return false
	}
	s.mu.RLock()
	_, revoked := s.revoked[revocationKey(token)]
	s.mu.RUnlock()
	return revoked
}
