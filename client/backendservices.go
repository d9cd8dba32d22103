package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"golang.org/x/oauth2"
)

// clientAssertionType is the client_assertion_type of private_key_jwt.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// BackendServices returns a caching token source for SMART Backend Services
// (the client_credentials grant with a private_key_jwt client assertion).
//
// key is the client's private JWK: RSA (at least 2048 bits, signs RS384) or
// EC P-384 (signs ES384), with a "kid" the server knows from the client's
// registered JWKS. A key whose "alg" names another algorithm is refused.
// Each token request carries a fresh assertion: iss = sub = clientID,
// aud = tokenURL, a random jti, exp at most 5 minutes ahead (see
// WithAssertionLifetime). Request system/ scopes with WithScopes.
func BackendServices(tokenURL, clientID string, key jwk.Key, opts ...TokenOption) (*TokenCache, error) {
	cfg, err := newTokenConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := checkTokenURL(tokenURL, cfg.insecureHTTP); err != nil {
		return nil, err
	}
	if clientID == "" {
		return nil, fmt.Errorf("%w: backend services need a client id", ErrConfig)
	}
	if cfg.clientAuth != "" && cfg.clientAuth != PrivateKeyJWT {
		return nil, fmt.Errorf("%w: backend services authenticate with private_key_jwt, not %s", ErrConfig, cfg.clientAuth)
	}
	for _, sc := range cfg.scopes {
		if strings.HasPrefix(sc, "patient/") || strings.HasPrefix(sc, "user/") {
			return nil, fmt.Errorf("%w: backend services request system/ scopes, not %q", ErrConfig, sc)
		}
	}
	signer, err := newAssertionSigner(key)
	if err != nil {
		return nil, err
	}
	if cfg.dpopTransport != nil {
		// fetch answers nonce challenges with a new assertion; the
		// transport must not re-send this one.
		cfg.dpopTransport.freshBody = true
	}
	b := &backendServices{tokenURL: tokenURL, clientID: clientID, signer: signer, cfg: cfg}
	return newTokenCache(b.fetch, cfg), nil
}

// ParsePrivateKey parses a private signing key for BackendServices from a
// JWK, or from a JWK Set holding exactly one key.
func ParsePrivateKey(data []byte) (jwk.Key, error) {
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: private key: not JSON: %w", ErrConfig, err)
	}
	var key jwk.Key
	if probe.Keys != nil {
		set, err := jwk.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%w: private key set: %w", ErrConfig, err)
		}
		if set.Len() != 1 {
			return nil, fmt.Errorf("%w: private key set holds %d keys, want exactly 1", ErrConfig, set.Len())
		}
		key, _ = set.Key(0)
	} else {
		k, err := jwk.ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("%w: private key: %w", ErrConfig, err)
		}
		key = k
	}
	if _, err := newAssertionSigner(key); err != nil {
		return nil, err
	}
	return key, nil
}

// assertionSigner signs client assertions with one key.
type assertionSigner struct {
	alg jwa.SignatureAlgorithm
	kid string
	key any // *rsa.PrivateKey or *ecdsa.PrivateKey
}

func newAssertionSigner(key jwk.Key) (*assertionSigner, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrConfig)
	}
	kid, _ := key.KeyID()
	if kid == "" {
		return nil, fmt.Errorf("%w: private key has no kid (the server finds the public key by it)", ErrConfig)
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrConfig, err)
	}
	s := &assertionSigner{kid: kid, key: raw}
	switch k := raw.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: RSA key of %d bits, want at least 2048", ErrConfig, k.N.BitLen())
		}
		s.alg = jwa.RS384()
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("%w: EC key on %s, ES384 needs P-384", ErrConfig, k.Curve.Params().Name)
		}
		s.alg = jwa.ES384()
	default:
		return nil, fmt.Errorf("%w: need an RSA or EC P-384 private key, got %T (a public key cannot sign)", ErrConfig, raw)
	}
	if a, ok := key.Algorithm(); ok && a.String() != s.alg.String() {
		return nil, fmt.Errorf("%w: key alg %q, backend services sign with %s", ErrConfig, a.String(), s.alg)
	}
	return s, nil
}

// sign returns a compact JWS of claims with alg, kid and typ headers.
func (s *assertionSigner) sign(claims []byte) ([]byte, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, s.kid); err != nil {
		return nil, err
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return nil, err
	}
	return jws.Sign(claims, jws.WithKey(s.alg, s.key, jws.WithProtectedHeaders(hdr)))
}

// backendServices fetches tokens with client assertions.
type backendServices struct {
	tokenURL string
	clientID string
	signer   *assertionSigner
	cfg      *tokenConfig
}

// assertionClaims are the claims SMART Backend Services requires.
type assertionClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	JWTID     string `json:"jti"`
}

// assertion builds and signs a fresh client assertion.
func (b *backendServices) assertion() (string, error) {
	jti, err := randomID()
	if err != nil {
		return "", err
	}
	now := b.cfg.now().Unix() // whole seconds, rounded down
	claims, err := json.Marshal(assertionClaims{
		Issuer:    b.clientID,
		Subject:   b.clientID,
		Audience:  b.tokenURL,
		IssuedAt:  now,
		ExpiresAt: now + int64(b.cfg.assertionLifetime/time.Second),
		JWTID:     jti,
	})
	if err != nil {
		return "", err
	}
	signed, err := b.signer.sign(claims)
	if err != nil {
		return "", fmt.Errorf("client: sign client assertion: %w", err)
	}
	return string(signed), nil
}

// fetch obtains a token. When the token endpoint refuses the DPoP proof
// for want of a (new) nonce, it asks once more with a new request: a new
// proof carrying the nonce, and a new client assertion, since a server may
// have recorded the first assertion's jti already and would refuse it as a
// replay.
func (b *backendServices) fetch(ctx context.Context) (*oauth2.Token, error) {
	resp, body, err := b.post(ctx)
	if err != nil {
		return nil, err
	}
	if t := b.cfg.dpopTransport; t != nil && t.nonceChallenge(resp) {
		if resp, body, err = b.post(ctx); err != nil {
			return nil, err
		}
	}
	return readTokenResponse(resp.StatusCode, body, b.cfg.dpop != nil)
}

// post sends one token request with a fresh client assertion and returns
// the answer with its body read (and closed).
func (b *backendServices) post(ctx context.Context) (*http.Response, []byte, error) {
	assertion, err := b.assertion()
	if err != nil {
		return nil, nil, err
	}
	form := tokenForm(b.cfg)
	form.Set("client_assertion_type", clientAssertionType)
	form.Set("client_assertion", assertion)
	return postToken(ctx, b.cfg, b.tokenURL, form, nil)
}

// randomID returns 128 random bits, base64url encoded.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("client: random jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
