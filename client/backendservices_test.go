package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey generates a private JWK with kid (and alg if given).
func testKey(t testing.TB, kind, kid, alg string) jwk.Key {
	t.Helper()
	var raw any
	var err error
	switch kind {
	case "rsa":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case "p384":
		raw, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	require.NoError(t, err)
	k, err := jwk.Import(raw)
	require.NoError(t, err)
	if kid != "" {
		require.NoError(t, k.Set(jwk.KeyIDKey, kid))
	}
	if alg != "" {
		require.NoError(t, k.Set(jwk.AlgorithmKey, alg))
	}
	return k
}

func TestBackendServicesAssertion(t *testing.T) {
	for _, tt := range []struct {
		kind, alg string
	}{{"rsa", "RS384"}, {"p384", "ES384"}} {
		t.Run(tt.alg, func(t *testing.T) {
			key := testKey(t, tt.kind, "key-1", "")
			pub, err := key.PublicKey()
			require.NoError(t, err)
			srv := newFakeTokenServer(t)
			tokenURL := srv.URL + "/oauth2/token"
			ts, err := BackendServices(tokenURL, "bulk-client", key, WithScopes("system/Observation.rs", "system/Patient.rs"))
			require.NoError(t, err)

			start := time.Now()
			for range 3 {
				ts.Invalidate(mustToken(t, ts))
			}
			reqs := srv.Requests()
			require.Len(t, reqs, 3)
			jtis := map[string]bool{}
			for _, r := range reqs {
				assert.Empty(t, r.Header.Get("Authorization"))
				assert.Equal(t, "client_credentials", r.Form.Get("grant_type"))
				assert.Equal(t, "system/Observation.rs system/Patient.rs", r.Form.Get("scope"))
				assert.Equal(t, clientAssertionType, r.Form.Get("client_assertion_type"))
				assert.Empty(t, r.Form.Get("client_secret"))

				assertion := r.Form.Get("client_assertion")
				msg, err := jws.Parse([]byte(assertion))
				require.NoError(t, err)
				hdr := msg.Signatures()[0].ProtectedHeaders()
				alg, _ := hdr.Algorithm()
				kid, _ := hdr.KeyID()
				typ, _ := hdr.Type()
				assert.Equal(t, tt.alg, alg.String())
				assert.Equal(t, "key-1", kid)
				assert.Equal(t, "JWT", typ)
				_, hasJWK := hdr.JWK()
				assert.False(t, hasJWK, "no embedded key")

				sigAlg, ok := jwa.LookupSignatureAlgorithm(tt.alg)
				require.True(t, ok)
				payload, err := jws.Verify([]byte(assertion), jws.WithKey(sigAlg, pub))
				require.NoError(t, err, "signature verifies with the public key")
				var c struct {
					Iss, Sub, Aud, Jti string
					Exp, Iat           int64
				}
				require.NoError(t, json.Unmarshal(payload, &c))
				assert.Equal(t, "bulk-client", c.Iss)
				assert.Equal(t, "bulk-client", c.Sub)
				assert.Equal(t, tokenURL, c.Aud)
				exp := time.Unix(c.Exp, 0)
				assert.True(t, exp.After(start), "exp in the future")
				assert.LessOrEqual(t, time.Until(exp), 5*time.Minute, "exp at most 5 minutes ahead")
				assert.LessOrEqual(t, c.Exp-c.Iat, int64(300))
				assert.GreaterOrEqual(t, len(c.Jti), 16)
				assert.False(t, jtis[c.Jti], "jti unique")
				jtis[c.Jti] = true
			}
		})
	}
}

func TestBackendServicesLifetime(t *testing.T) {
	clk := newFakeClock()
	key := testKey(t, "p384", "k", "ES384")
	srv := newFakeTokenServer(t)
	ts, err := BackendServices(srv.URL, "c", key, withClock(clk.Now), WithAssertionLifetime(90*time.Second))
	require.NoError(t, err)
	mustToken(t, ts)
	msg, err := jws.Parse([]byte(srv.Requests()[0].Form.Get("client_assertion")))
	require.NoError(t, err)
	var c struct{ Exp, Iat int64 }
	require.NoError(t, json.Unmarshal(msg.Payload(), &c))
	assert.Equal(t, clk.Now().Unix(), c.Iat)
	assert.Equal(t, clk.Now().Unix()+90, c.Exp)

	for _, d := range []time.Duration{0, -time.Second, 5*time.Minute + time.Second, time.Hour} {
		_, err := BackendServices(srv.URL, "c", key, WithAssertionLifetime(d))
		assert.ErrorIs(t, err, ErrConfig, "lifetime %v", d)
	}
}

func TestBackendServicesKeyValidation(t *testing.T) {
	rsaKey := testKey(t, "rsa", "k", "")
	pub, err := rsaKey.PublicKey()
	require.NoError(t, err)
	sym, err := jwk.Import([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	require.NoError(t, sym.Set(jwk.KeyIDKey, "sym"))
	tests := []struct {
		name string
		key  jwk.Key
	}{
		{"nil", nil},
		{"public key", pub},
		{"symmetric key", sym},
		{"no kid", testKey(t, "rsa", "", "")},
		{"P-256", testKey(t, "p256", "k", "")},
		{"rsa with alg RS256", testKey(t, "rsa", "k", "RS256")},
		{"ec with alg RS384", testKey(t, "p384", "k", "RS384")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BackendServices("https://as.example/token", "c", tt.key)
			assert.ErrorIs(t, err, ErrConfig)
		})
	}
	_, err = BackendServices("https://as.example/token", "", rsaKey)
	assert.ErrorIs(t, err, ErrConfig, "client id required")
	_, err = BackendServices("https://as.example/token", "c", rsaKey, WithClientAuth(ClientSecretBasic))
	assert.ErrorIs(t, err, ErrConfig)
	for _, sc := range []string{"patient/*.rs", "user/Patient.read"} {
		_, err = BackendServices("https://as.example/token", "c", rsaKey, WithScopes("system/Patient.rs", sc))
		assert.ErrorIs(t, err, ErrConfig, "backend services use system/ scopes, not %s", sc)
	}
}

func TestParsePrivateKey(t *testing.T) {
	key := testKey(t, "p384", "k1", "ES384")
	single, err := json.Marshal(key)
	require.NoError(t, err)
	got, err := ParsePrivateKey(single)
	require.NoError(t, err)
	kid, _ := got.KeyID()
	assert.Equal(t, "k1", kid)

	set := jwk.NewSet()
	require.NoError(t, set.AddKey(key))
	setJSON, err := json.Marshal(set)
	require.NoError(t, err)
	_, err = ParsePrivateKey(setJSON)
	require.NoError(t, err)

	require.NoError(t, set.AddKey(testKey(t, "rsa", "k2", "")))
	two, err := json.Marshal(set)
	require.NoError(t, err)
	_, err = ParsePrivateKey(two)
	assert.ErrorIs(t, err, ErrConfig, "two keys: ambiguous")

	pub, err := key.PublicKey()
	require.NoError(t, err)
	pubJSON, err := json.Marshal(pub)
	require.NoError(t, err)
	_, err = ParsePrivateKey(pubJSON)
	assert.ErrorIs(t, err, ErrConfig, "public key cannot sign")

	for _, bad := range []string{"", "not json", "{}", `{"keys":[]}`, `{"kty":"RSA"}`, `[1,2]`} {
		_, err := ParsePrivateKey([]byte(bad))
		assert.ErrorIs(t, err, ErrConfig, "input %q", bad)
	}
}

func TestBackendServicesTokenErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"invalid_client", 401, `{"error":"invalid_client","error_description":"assertion replayed"}`, "invalid_client"},
		{"invalid_scope", 400, `{"error":"invalid_scope"}`, "invalid_scope"},
		{"not json", 502, `<html>`, ""},
		{"no access token", 200, `{"token_type":"bearer"}`, ""},
		{"not bearer", 200, `{"access_token":"x","token_type":"mac"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeTokenServer(t)
			srv.setAnswer(func(w http.ResponseWriter, _ int) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			ts, err := BackendServices(srv.URL, "c", testKey(t, "p384", "k", ""))
			require.NoError(t, err)
			_, err = ts.Token()
			var oe *OAuthError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.code, oe.Code)
			assert.Equal(t, tt.status, oe.StatusCode)
		})
	}
}

func TestParseTokenResponseExpiresIn(t *testing.T) {
	for body, want := range map[string]int64{
		`{"access_token":"a","token_type":"Bearer","expires_in":5400}`:   5400,
		`{"access_token":"a","token_type":"Bearer","expires_in":"300"}`:  300,
		`{"access_token":"a","token_type":"Bearer","expires_in":-5}`:     0,
		`{"access_token":"a","token_type":"Bearer","expires_in":"soon"}`: 0,
		`{"access_token":"a","token_type":"Bearer"}`:                     0,
	} {
		tok, err := parseTokenResponse(200, []byte(body))
		require.NoError(t, err, body)
		assert.Equal(t, want, tok.ExpiresIn, body)
	}
	tok, err := parseTokenResponse(200, []byte(`{"access_token":"a","token_type":"bearer","patient":"123"}`))
	require.NoError(t, err)
	assert.Equal(t, "123", tok.Extra("patient"), "extra response fields kept")
}
