package authserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// ErrInvalidClient is wrapped by every client registration error.
var ErrInvalidClient = errors.New("authserver: invalid client registration")

// Client is a registered OAuth2 client. Its JSON form is the one of the
// careconnect -clients file:
//
//	{"client_id": "patient-access", "client_secret": "s3cret",
//	 "scope": "user/Patient.read", "patient": "123", "jwks": {"keys": []}}
//
// A client with a Secret authenticates with client_secret_basic or
// client_secret_post; a client with JWKS (public keys) authenticates with
// private_key_jwt (SMART Backend Services). A client may have both.
type Client struct {
	// ID is the client_id.
	ID string `json:"client_id"`
	// Secret is the client secret; empty for key-only clients.
	Secret string `json:"client_secret,omitempty"`
	// Scope is the space-separated list of scopes the client may be granted.
	// A token request without a scope parameter gets all of them.
	Scope string `json:"scope"`
	// Patient, if set, is put in the client's tokens as the "patient" claim
	// and in the token response (SMART launch context).
	Patient string `json:"patient,omitempty"`
	// FHIRUser, if set, is put in the client's tokens as the "fhirUser" claim
	// (e.g. "Practitioner/123").
	FHIRUser string `json:"fhirUser,omitempty"`
	// JWKS is a JWK Set of the client's public keys, for private_key_jwt.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// DPoPBound makes the client's token requests carry a DPoP proof, so
	// that all its tokens are DPoP-bound (RFC 9449 section 5.2).
	DPoPBound bool `json:"dpop_bound_access_tokens,omitempty"`
}

// clientKey is a parsed public key of a private_key_jwt client.
type clientKey struct {
	kid string
	alg string // "" when the JWK does not restrict it
	pub any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// registeredClient is a validated Client ready for authentication.
type registeredClient struct {
	Client
	allowed    scope.Set
	secretHash [sha256.Size]byte
	keys       []clientKey
}

// maxClientsFile bounds the size of a clients file.
const maxClientsFile = 1 << 20

// LoadClients reads a JSON array of clients (the -clients file format) and
// validates each of them: client_id required and unique, a client_secret or
// a jwks with at least one usable public key, scope parsed strictly. Unknown
// fields are an error, so a misspelt field is not silently ignored, and so
// is a member written twice in one object (also as "Scope" beside "scope",
// which encoding/json would read into one field, the last one winning).
func LoadClients(r io.Reader) ([]Client, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxClientsFile+1))
	if err != nil {
		return nil, fmt.Errorf("authserver: read clients: %w", err)
	}
	if len(data) > maxClientsFile {
		return nil, fmt.Errorf("%w: clients file larger than %d bytes", ErrInvalidClient, maxClientsFile)
	}
	if err := checkMemberNames(data); err != nil {
		return nil, fmt.Errorf("%w: clients file: %w", ErrInvalidClient, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var clients []Client
	if err := dec.Decode(&clients); err != nil {
		return nil, fmt.Errorf("%w: clients file: %w", ErrInvalidClient, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: clients file: trailing data after the array", ErrInvalidClient)
	}
	if _, err := registerClients(clients); err != nil {
		return nil, err
	}
	return clients, nil
}

// registerClients validates clients and indexes them by id.
func registerClients(clients []Client) (map[string]*registeredClient, error) {
	out := make(map[string]*registeredClient, len(clients))
	for i, c := range clients {
		rc, err := registerClient(c)
		if err != nil {
			return nil, fmt.Errorf("client #%d: %w", i+1, err)
		}
		if _, dup := out[c.ID]; dup {
			return nil, fmt.Errorf("%w: duplicate client_id %q", ErrInvalidClient, c.ID)
		}
		out[c.ID] = rc
	}
	return out, nil
}

// registerClient validates one client.
func registerClient(c Client) (*registeredClient, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: client %q: %s", ErrInvalidClient, c.ID, fmt.Sprintf(format, a...))
	}
	if c.ID == "" {
		return nil, fmt.Errorf("%w: client_id is required", ErrInvalidClient)
	}
	if len(c.ID) > 255 || !isVSChars(c.ID) {
		return nil, fail("client_id must be 1-255 printable ASCII characters")
	}
	if len(c.Secret) > 255 || !isVSChars(c.Secret) {
		return nil, fail("client_secret must be at most 255 printable ASCII characters")
	}
	if c.Scope == "" {
		return nil, fail("scope is required (the scopes the client may be granted)")
	}
	allowed, err := scope.ParseSet(c.Scope)
	if err != nil {
		return nil, fail("scope: %v", err)
	}
	if c.Patient != "" && !isFHIRID(c.Patient) {
		return nil, fail("patient %q is not a FHIR id", c.Patient)
	}
	if len(c.FHIRUser) > 1024 || !isVSChars(c.FHIRUser) {
		return nil, fail("fhirUser must be printable ASCII")
	}
	rc := &registeredClient{Client: c, allowed: allowed}
	if c.Secret != "" {
		rc.secretHash = sha256.Sum256([]byte(c.Secret))
	}
	if len(c.JWKS) > 0 && !bytes.Equal(bytes.TrimSpace(c.JWKS), []byte("null")) {
		keys, err := parseClientKeys(c.JWKS)
		if err != nil {
			return nil, fail("jwks: %v", err)
		}
		rc.keys = keys
	}
	if c.Secret == "" && len(rc.keys) == 0 {
		return nil, fail("needs a client_secret or a jwks with at least one public key")
	}
	// Keep our own copy of the raw JWKS so later changes by the caller do not matter.
	rc.JWKS = append(json.RawMessage(nil), c.JWKS...)
	return rc, nil
}

// parseClientKeys parses a JWK Set of public signing keys. Private and
// symmetric keys, encryption keys, weak RSA keys and unknown curves are
// rejected rather than skipped.
func parseClientKeys(raw json.RawMessage) ([]clientKey, error) {
	if err := checkMemberNames(raw); err != nil {
		return nil, err
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	keys := make([]clientKey, 0, set.Len())
	for i := range set.Len() {
		k, _ := set.Key(i)
		switch k.(type) {
		case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.SymmetricKey:
			return nil, fmt.Errorf("key #%d: only public keys are accepted (private or symmetric keys must never be registered)", i+1)
		case jwk.RSAPublicKey, jwk.ECDSAPublicKey:
		default:
			return nil, fmt.Errorf("key #%d: only RSA and EC public keys are accepted, got kty %q", i+1, k.KeyType())
		}
		if use, ok := k.KeyUsage(); ok && use != "sig" {
			return nil, fmt.Errorf("key #%d: use %q, want \"sig\"", i+1, use)
		}
		var pub any
		if err := jwk.Export(k, &pub); err != nil {
			return nil, fmt.Errorf("key #%d: %w", i+1, err)
		}
		switch p := pub.(type) {
		case *rsa.PublicKey:
			if p.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key #%d: RSA key of %d bits, want at least 2048", i+1, p.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if p.Curve != elliptic.P256() && p.Curve != elliptic.P384() && p.Curve != elliptic.P521() {
				return nil, fmt.Errorf("key #%d: unsupported curve", i+1)
			}
		default:
			return nil, fmt.Errorf("key #%d: unsupported key type %T", i+1, pub)
		}
		ck := clientKey{pub: pub}
		ck.kid, _ = k.KeyID()
		if a, ok := k.Algorithm(); ok {
			ck.alg = a.String()
		}
		keys = append(keys, ck)
	}
	return keys, nil
}

// PublicJWKS renders public keys as a JWK Set document suitable for
// Client.JWKS. Private keys are reduced to their public part.
func PublicJWKS(keys ...jwk.Key) (json.RawMessage, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("authserver: public key: %w", err)
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("authserver: add key: %w", err)
		}
	}
	return json.Marshal(set)
}

// isVSChars reports whether s contains only %x20-7E (RFC 6749 appendix A).
func isVSChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isFHIRID reports whether s is a FHIR logical id: [A-Za-z0-9\-\.]{1,64}.
func isFHIRID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
