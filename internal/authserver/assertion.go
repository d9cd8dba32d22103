package authserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Limits of private_key_jwt client assertions (SMART Backend Services).
const (
	// MaxAssertionLifetime is how far in the future an assertion's exp may
	// be (and the longest exp - iat).
	MaxAssertionLifetime = 5 * time.Minute
	// assertionClockSkew is tolerated for iat/nbf in the future and for exp
	// beyond MaxAssertionLifetime; never for an exp in the past.
	assertionClockSkew = 30 * time.Second
	maxAssertionBytes  = 8 << 10
)

// AssertionAlgorithms are the signature algorithms accepted for client
// assertions, as SMART Backend Services requires.
var AssertionAlgorithms = []string{"RS384", "ES384"}

// errAssertionNotVerified is the answer to an assertion that no key of the
// client it names verifies, whether or not that client exists.
const errAssertionNotVerified = errClientAuthFailed + ": no registered key of the client named by iss verifies the assertion's signature"

// assertionClaims are the claims read from a client assertion. Dates are kept
// raw so that a string holding a number (which json.Number would accept) is
// an error.
type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp json.RawMessage `json:"exp"`
	Iat json.RawMessage `json:"iat"`
	Nbf json.RawMessage `json:"nbf"`
	Jti string          `json:"jti"`
}

// verifyAssertion authenticates a client by its private_key_jwt assertion.
// The signature is checked before the claims, and the jti is remembered only
// once everything else holds.
func (s *Server) verifyAssertion(raw, formClientID string) (*registeredClient, *oauthError) {
	fail := func(reason string) *oauthError {
		s.log.Info("authserver: client assertion refused", "reason", reason)
		return errInvalidClient("client assertion: "+reason, false)
	}
	if raw == "" {
		return nil, fail("client_assertion is required")
	}
	if len(raw) > maxAssertionBytes {
		return nil, fail("too large")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fail("not a compact JWS")
	}
	var header map[string]json.RawMessage
	if err := decodeSegment(parts[0], &header); err != nil || header == nil {
		return nil, fail("malformed header")
	}
	var alg, kid, typ string
	if err := stringMember(header, "alg", &alg); err != nil {
		return nil, fail("malformed alg")
	}
	if !contains(AssertionAlgorithms, alg) {
		return nil, fail(fmt.Sprintf("alg %s not allowed (want RS384 or ES384)", strconvQuote(alg)))
	}
	for _, h := range []string{"jku", "jwk", "x5u", "x5c", "crit", "b64"} {
		if _, ok := header[h]; ok {
			return nil, fail(fmt.Sprintf("header %q not accepted (keys come only from the client registration)", h))
		}
	}
	if stringMember(header, "kid", &kid) != nil || stringMember(header, "typ", &typ) != nil {
		return nil, fail("malformed kid or typ")
	}
	if typ != "" && !strings.EqualFold(typ, "JWT") {
		return nil, fail(fmt.Sprintf("typ %s not accepted", strconvQuote(typ)))
	}
	var claims assertionClaims
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fail("malformed claims")
	}
	if claims.Iss == "" || claims.Iss != claims.Sub {
		return nil, fail("iss and sub must both be the client_id")
	}
	if formClientID != "" && formClientID != claims.Iss {
		return nil, errInvalidRequest("client_id differs from the client assertion's iss")
	}
	// An unknown client, one without keys and a signature no key of the
	// client verifies get one answer, so that it does not tell which
	// client ids exist; the log says which it was.
	c := s.client(claims.Iss)
	var reason string
	switch {
	case c == nil:
		reason = "unknown client"
	case len(c.keys) == 0:
		reason = "client has no registered keys (not a private_key_jwt client)"
	case !verifyWithClientKeys(c.keys, []byte(raw), alg, kid):
		reason = "signature not verified by any registered key of the client"
	}
	if reason != "" {
		s.log.Info("authserver: client assertion refused", "reason", reason, "client_id", claims.Iss, "known", c != nil)
		return nil, errInvalidClient(errAssertionNotVerified, false)
	}
	if err := s.checkAssertionClaims(&claims); err != "" {
		return nil, fail(err)
	}
	exp, _ := numericDate(claims.Exp)
	switch s.replay.use(c.ID+"\x00"+claims.Jti, exp, s.now()) {
	case replaySeen:
		return nil, fail("jti already used (replayed assertion)")
	case replayFull:
		return nil, fail("too many recent assertions; retry later")
	}
	return c, nil
}

// checkAssertionClaims checks aud, exp, iat, nbf and jti; it returns the
// reason when one does not hold.
func (s *Server) checkAssertionClaims(c *assertionClaims) string {
	if !audienceContains(c.Aud, s.TokenURL()) {
		return "aud must be the token endpoint URL " + s.TokenURL()
	}
	now := s.now()
	exp, ok := numericDate(c.Exp)
	if !ok {
		return "exp is required and must be a number"
	}
	if !now.Before(exp) {
		return "expired"
	}
	if exp.Sub(now) > MaxAssertionLifetime+assertionClockSkew {
		return "exp is more than 5 minutes in the future"
	}
	if c.Iat != nil {
		iat, ok := numericDate(c.Iat)
		if !ok {
			return "iat must be a number"
		}
		if iat.After(now.Add(assertionClockSkew)) {
			return "iat is in the future"
		}
		if exp.Sub(iat) > MaxAssertionLifetime {
			return "exp - iat is more than 5 minutes"
		}
	}
	if c.Nbf != nil {
		nbf, ok := numericDate(c.Nbf)
		if !ok {
			return "nbf must be a number"
		}
		if nbf.After(now.Add(assertionClockSkew)) {
			return "not yet valid (nbf)"
		}
	}
	if c.Jti == "" || len(c.Jti) > 255 {
		return "jti is required (at most 255 characters)"
	}
	return ""
}

// verifyWithClientKeys reports whether one of the client's keys that fits
// alg (and kid, when given) verifies the compact JWS.
func verifyWithClientKeys(keys []clientKey, compact []byte, alg, kid string) bool {
	sigAlg, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return false
	}
	for _, k := range keys {
		if kid != "" && k.kid != kid {
			continue
		}
		if k.alg != "" && k.alg != alg {
			continue
		}
		if !keyFitsAlg(k.pub, alg) {
			continue
		}
		if _, err := jws.Verify(compact, jws.WithKey(sigAlg, k.pub)); err == nil {
			return true
		}
	}
	return false
}

// keyFitsAlg reports whether pub is the key type (and curve) alg needs.
func keyFitsAlg(pub any, alg string) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return p.Curve == elliptic.P256()
		case "ES384":
			return p.Curve == elliptic.P384()
		case "ES512":
			return p.Curve == elliptic.P521()
		}
	}
	return false
}

// decodeSegment base64url-decodes (strictly, unpadded) and JSON-decodes one
// JWS segment.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// stringMember reads an optional string member of a JSON object.
func stringMember(obj map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := obj[name]
	if !ok {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// numericDate converts a JSON NumericDate (a JSON number, never a string);
// ok is false when absent or invalid.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || !(raw[0] >= '0' && raw[0] <= '9') {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// audienceContains reports whether a JSON aud (string or array of strings)
// contains want.
func audienceContains(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return false
	}
	return contains(many, want)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
