package bench

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Leeway is the clock skew every peer is configured with, so that all of
// them apply the same exp/nbf/iat rules.
const Leeway = 60 * time.Second

// TokenClaims are the claims of the token every peer verifies: a realistic
// SMART on FHIR access token (patient launch context, v2 scopes, fhirUser).
func TokenClaims() map[string]any {
	return map[string]any{
		"sub":       "Practitioner/1234",
		"client_id": "careconnect-app",
		"scope":     "launch/patient patient/Patient.rs patient/Observation.rs patient/Condition.rs openid fhirUser",
		"patient":   "p-0001",
		"fhirUser":  "Practitioner/1234",
	}
}

// PeerFixture is one RS256 token and the issuer key set that signed it,
// shared by every verifier under comparison so that they do the same work:
// check the RS256 signature with the key the kid names, then exp, iss and
// aud.
type PeerFixture struct {
	Issuer   *tokentest.Issuer
	Token    string
	Keys     jwk.Set        // the issuer's published JWKS, parsed
	RSAKey   *rsa.PublicKey // the key that signed Token
	KeyID    string         // its kid
	Audience string
}

// NewPeerFixture starts a tokentest issuer and mints the shared token.
// Close it when done.
func NewPeerFixture() (*PeerFixture, error) {
	iss := tokentest.NewIssuer()
	keys, err := jwk.Parse(iss.JWKS())
	if err != nil {
		iss.Close()
		return nil, fmt.Errorf("parse issuer JWKS: %w", err)
	}
	signer, kid := iss.SigningKey("RS256")
	pub, ok := signer.Public().(*rsa.PublicKey)
	if !ok {
		iss.Close()
		return nil, fmt.Errorf("issuer RS256 key is %T, not RSA", signer.Public())
	}
	return &PeerFixture{
		Issuer:   iss,
		Token:    iss.Mint(TokenClaims()),
		Keys:     keys,
		RSAKey:   pub,
		KeyID:    kid,
		Audience: iss.Audience(),
	}, nil
}

// Close stops the issuer.
func (f *PeerFixture) Close() { f.Issuer.Close() }

// VerifyFunc verifies one raw token; nil means accepted.
type VerifyFunc func(raw string) error

// Peer is one verifier under comparison.
type Peer struct {
	Name   string
	Verify VerifyFunc
	close  func()
}

// Close releases what the peer holds (a fhirwarden Verifier).
func (p Peer) Close() {
	if p.close != nil {
		p.close()
	}
}

// Peer names, as they appear in benchmark output.
const (
	PeerRawRSA            = "raw-rsa-verify"
	PeerFhirwardenNoCache = "fhirwarden-uncached"
	PeerFhirwardenCached  = "fhirwarden-cached"
	PeerGolangJWT         = "golang-jwt-v5"
	PeerJWXKeySet         = "jwx-jwt-parse"
	PeerJWXKey            = "jwx-jwt-parse-withkey"
)

// Peers returns every verifier under comparison, configured alike: RS256
// only, issuer and audience checked, exp required, 60 s leeway, the key
// chosen by kid from the issuer's key set (golang-jwt: a keyfunc doing the
// kid lookup). fhirwarden-uncached has its verified-token cache disabled
// (token.WithTokenCache(0, 0)), so every call checks the signature;
// fhirwarden-cached has the default cache, warmed by one call.
// raw-rsa-verify is the floor: SHA-256 and rsa.VerifyPKCS1v15 of the
// signing input, nothing else.
func (f *PeerFixture) Peers(ctx context.Context) ([]Peer, error) {
	raw, err := RawRSAVerifier(f.RSAKey)
	if err != nil {
		return nil, err
	}
	uncached, err := f.FhirwardenVerifier(ctx, token.WithTokenCache(0, 0))
	if err != nil {
		return nil, err
	}
	cached, err := f.FhirwardenVerifier(ctx)
	if err != nil {
		_ = uncached.Close()
		return nil, err
	}
	if _, err := cached.Authenticate(ctx, f.Token); err != nil {
		_ = uncached.Close()
		_ = cached.Close()
		return nil, fmt.Errorf("warm the fhirwarden cache: %w", err)
	}
	return []Peer{
		{Name: PeerRawRSA, Verify: raw},
		{Name: PeerFhirwardenNoCache, Verify: authenticateFunc(ctx, uncached), close: func() { _ = uncached.Close() }},
		{Name: PeerFhirwardenCached, Verify: authenticateFunc(ctx, cached), close: func() { _ = cached.Close() }},
		{Name: PeerGolangJWT, Verify: f.GolangJWTVerifier()},
		{Name: PeerJWXKeySet, Verify: f.JWXKeySetVerifier()},
		{Name: PeerJWXKey, Verify: f.JWXKeyVerifier()},
	}, nil
}

// FhirwardenVerifier is a token.Verifier over the fixture's static key set.
func (f *PeerFixture) FhirwardenVerifier(ctx context.Context, opts ...token.VerifierOption) (*token.Verifier, error) {
	opts = append([]token.VerifierOption{
		token.WithAlgorithms("RS256"),
		token.WithLeeway(Leeway),
		token.WithLogger(slog.New(slog.DiscardHandler)), // the issuer's ES256 key is skipped (RS256 only): expected
	}, opts...)
	return token.NewVerifier(ctx, token.Config{Issuer: f.Issuer.URL, Audience: f.Audience, Keys: f.Keys}, opts...)
}

func authenticateFunc(ctx context.Context, v *token.Verifier) VerifyFunc {
	return func(raw string) error {
		_, err := v.Authenticate(ctx, raw)
		return err
	}
}

// GolangJWTVerifier is github.com/golang-jwt/jwt/v5's Parse with a keyfunc
// that looks the kid up, RS256 only, exp required, iss and aud checked.
func (f *PeerFixture) GolangJWTVerifier() VerifyFunc {
	keys := map[string]*rsa.PublicKey{f.KeyID: f.RSAKey}
	keyfunc := func(t *gjwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}
	parser := gjwt.NewParser(
		gjwt.WithValidMethods([]string{"RS256"}),
		gjwt.WithIssuer(f.Issuer.URL),
		gjwt.WithAudience(f.Audience),
		gjwt.WithExpirationRequired(),
		gjwt.WithIssuedAt(),
		gjwt.WithLeeway(Leeway),
	)
	return func(raw string) error {
		_, err := parser.Parse(raw, keyfunc)
		return err
	}
}

// JWXKeySetVerifier is jwx v3's jwt.Parse with jwt.WithKeySet (key chosen
// by kid), validation on, exp required, iss and aud checked.
func (f *PeerFixture) JWXKeySetVerifier() VerifyFunc {
	opts := []jwt.ParseOption{
		jwt.WithKeySet(f.Keys),
		jwt.WithValidate(true),
		jwt.WithIssuer(f.Issuer.URL),
		jwt.WithAudience(f.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(Leeway),
	}
	return func(raw string) error {
		_, err := jwt.ParseString(raw, opts...)
		return err
	}
}

// JWXKeyVerifier is jwx v3's jwt.Parse with jwt.WithKey (one known RSA
// key, no set lookup), validation as JWXKeySetVerifier.
func (f *PeerFixture) JWXKeyVerifier() VerifyFunc {
	opts := []jwt.ParseOption{
		jwt.WithKey(jwa.RS256(), f.RSAKey),
		jwt.WithValidate(true),
		jwt.WithIssuer(f.Issuer.URL),
		jwt.WithAudience(f.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithAcceptableSkew(Leeway),
	}
	return func(raw string) error {
		_, err := jwt.ParseString(raw, opts...)
		return err
	}
}
