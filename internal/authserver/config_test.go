package authserver

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidatesConfig(t *testing.T) {
	ok := []Client{{ID: "a", Secret: "s", Scope: "user/Patient.read"}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no issuer", Config{Audience: testAudience}},
		{"relative issuer", Config{Issuer: "/auth", Audience: testAudience}},
		{"ftp issuer", Config{Issuer: "ftp://auth.example", Audience: testAudience}},
		{"issuer with query", Config{Issuer: "https://auth.example?x=1", Audience: testAudience}},
		{"issuer with fragment", Config{Issuer: "https://auth.example#x", Audience: testAudience}},
		{"issuer with user info", Config{Issuer: "https://u:p@auth.example", Audience: testAudience}},
		{"no audience", Config{Issuer: testIssuer}},
		{"tiny lifetime", Config{Issuer: testIssuer, Audience: testAudience, TokenLifetime: time.Millisecond}},
		{"negative lifetime", Config{Issuer: testIssuer, Audience: testAudience, TokenLifetime: -time.Minute}},
		{"duplicate clients", Config{Issuer: testIssuer, Audience: testAudience, Clients: append(ok, ok...)}},
		{"invalid client", Config{Issuer: testIssuer, Audience: testAudience, Clients: []Client{{ID: "a", Scope: "user/Patient.read"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			assert.Nil(t, s)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
	s, err := New(Config{Issuer: testIssuer + "/", Audience: testAudience, Clients: ok})
	require.NoError(t, err)
	assert.Equal(t, testIssuer, s.Issuer(), "trailing slash removed")
	assert.Equal(t, DefaultTokenLifetime, s.TokenLifetime())
}

func TestRegisterClientValidation(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	k := clientKeys(t)
	privJWKS := func() json.RawMessage {
		key, err := jwk.Import(k.rsa)
		require.NoError(t, err)
		set := jwk.NewSet()
		require.NoError(t, set.AddKey(key))
		b, err := json.Marshal(set)
		require.NoError(t, err)
		return b
	}()
	tests := []struct {
		name   string
		client Client
		reason string
	}{
		{"no id", Client{Secret: "s", Scope: "user/Patient.read"}, "client_id is required"},
		{"control char in id", Client{ID: "a\nb", Secret: "s", Scope: "user/Patient.read"}, "client_id"},
		{"non-ASCII secret", Client{ID: "a", Secret: "sécret", Scope: "user/Patient.read"}, "client_secret"},
		{"no credentials", Client{ID: "a", Scope: "user/Patient.read"}, "client_secret or a jwks"},
		{"empty jwks", Client{ID: "a", Scope: "user/Patient.read", JWKS: json.RawMessage(`{"keys":[]}`)}, "client_secret or a jwks"},
		{"null jwks", Client{ID: "a", Scope: "user/Patient.read", JWKS: json.RawMessage(`null`)}, "client_secret or a jwks"},
		{"no scope", Client{ID: "a", Secret: "s"}, "scope is required"},
		{"malformed scope", Client{ID: "a", Secret: "s", Scope: "user/Patient.read user/Patient.rr"}, "scope"},
		{"bad patient id", Client{ID: "a", Secret: "s", Scope: "patient/*.rs", Patient: "../Patient/1"}, "patient"},
		{"jwks not JSON", Client{ID: "a", Scope: "system/*.rs", JWKS: json.RawMessage(`{"keys":`)}, "jwks"},
		{"private key in jwks", Client{ID: "a", Scope: "system/*.rs", JWKS: privJWKS}, "public keys"},
		{"symmetric key in jwks", Client{ID: "a", Scope: "system/*.rs", JWKS: json.RawMessage(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)}, "public keys"},
		{"weak RSA key", Client{ID: "a", Scope: "system/*.rs", JWKS: json.RawMessage(`{"keys":[{"kty":"RSA","kid":"w","e":"AQAB","n":"` +
			base64.RawURLEncoding.EncodeToString(small.N.Bytes()) + `"}]}`)}, "2048"},
		{"encryption key", Client{ID: "a", Scope: "system/*.rs", JWKS: withUse(t, publicJWKS(t, []string{"e"}, k.rsa), "enc")}, "use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := registerClient(tc.client)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidClient)
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
	// Both a secret and keys: fine.
	_, err = registerClient(Client{ID: "both", Secret: "s", Scope: "system/*.rs", JWKS: publicJWKS(t, []string{"k"}, k.rsa)})
	assert.NoError(t, err)
}

func withUse(t *testing.T, set json.RawMessage, use string) json.RawMessage {
	t.Helper()
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(set, &doc))
	doc.Keys[0]["use"] = use
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

func TestLoadClients(t *testing.T) {
	k := clientKeys(t)
	file := `[
	 {"client_id": "patient-access", "client_secret": "s3cret", "scope": "user/Patient.read"},
	 {"client_id": "pat", "client_secret": "x", "scope": "patient/*.rs", "patient": "123"},
	 {"client_id": "backend", "scope": "system/*.rs", "jwks": ` + string(publicJWKS(t, []string{"k1"}, k.rsa)) + `}
	]`
	clients, err := LoadClients(strings.NewReader(file))
	require.NoError(t, err)
	require.Len(t, clients, 3)
	assert.Equal(t, "patient-access", clients[0].ID)
	assert.Equal(t, "s3cret", clients[0].Secret)
	assert.Equal(t, "123", clients[1].Patient)
	assert.NotEmpty(t, clients[2].JWKS)
	s, err := New(Config{Issuer: testIssuer, Audience: testAudience, Clients: clients})
	require.NoError(t, err)
	assert.Len(t, s.Clients(), 3)

	bad := map[string]string{
		"not an array":  `{"client_id":"a"}`,
		"unknown field": `[{"client_id":"a","secret":"s","scope":"user/Patient.read"}]`,
		"trailing data": `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read"}] []`,
		"duplicate id":  `[{"client_id":"a","client_secret":"s","scope":"user/Patient.read"},{"client_id":"a","client_secret":"t","scope":"user/Patient.read"}]`,
		"bad scope":     `[{"client_id":"a","client_secret":"s","scope":"user/Patient.reed"}]`,
		"empty":         ``,
		"too large":     `[` + strings.Repeat(" ", maxClientsFile) + `]`,
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := LoadClients(strings.NewReader(doc))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidClient) || strings.Contains(err.Error(), "EOF"), err.Error())
		})
	}
}

func TestPublicJWKSDropsPrivateParts(t *testing.T) {
	k := clientKeys(t)
	key, err := jwk.Import(k.ec)
	require.NoError(t, err)
	doc, err := PublicJWKS(key)
	require.NoError(t, err)
	assert.NotContains(t, string(doc), `"d"`)
	_, err = registerClient(Client{ID: "svc", Scope: "system/*.rs", JWKS: doc})
	assert.NoError(t, err)
}
