package authserver

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenIDConfiguration(t *testing.T) {
	s, _ := newTestServer(t)
	res := do(t, s, request{method: http.MethodGet, path: DiscoveryPath})
	require.Equal(t, http.StatusOK, res.status)
	b := res.body
	assert.Equal(t, testIssuer, b["issuer"])
	assert.Equal(t, testIssuer+"/oauth2/token", b["token_endpoint"])
	assert.Equal(t, testIssuer+"/oauth2/jwks", b["jwks_uri"])
	assert.Equal(t, testIssuer+"/oauth2/introspect", b["introspection_endpoint"])
	assert.Equal(t, testIssuer+"/oauth2/revoke", b["revocation_endpoint"])
	assert.Equal(t, []any{"client_credentials"}, b["grant_types_supported"])
	assert.Equal(t, []any{"client_secret_basic", "client_secret_post", "private_key_jwt"}, b["token_endpoint_auth_methods_supported"])
	assert.Equal(t, []any{"RS384", "ES384"}, b["token_endpoint_auth_signing_alg_values_supported"])
	assert.Equal(t, []any{"launch/patient", "patient/*.rs", "system/*.rs", "user/Condition.read", "user/Observation.read", "user/Patient.read"}, b["scopes_supported"])

	require.NoError(t, s.AddClient(Client{ID: "new", Secret: "x", Scope: "user/Encounter.read"}))
	assert.Contains(t, s.ScopesSupported(), "user/Encounter.read")

	res = do(t, s, request{method: http.MethodPost, path: DiscoveryPath})
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	res = do(t, s, request{method: http.MethodGet, path: "/oauth2/other"})
	assert.Equal(t, http.StatusNotFound, res.status)
}

func TestSMARTConfiguration(t *testing.T) {
	s, _ := newTestServer(t)
	m := s.SMARTConfiguration()
	assert.Equal(t, testIssuer+"/oauth2/token", m["token_endpoint"])
	assert.Equal(t, testIssuer+"/oauth2/jwks", m["jwks_uri"])
	assert.Equal(t, []string{"client_credentials"}, m["grant_types_supported"])
	assert.Equal(t, []string{"client-confidential-symmetric", "client-confidential-asymmetric", "permission-v1", "permission-v2"}, m["capabilities"])
	assert.Contains(t, m, "scopes_supported")
	// The document is JSON-encodable as served.
	_, err := json.Marshal(m)
	require.NoError(t, err)
	res := do(t, s, request{method: http.MethodGet, path: SMARTPath})
	assert.Equal(t, http.StatusOK, res.status)
	assert.Contains(t, res.body["capabilities"], "client-confidential-asymmetric")
}

func TestJWKSDocument(t *testing.T) {
	s, _ := newTestServer(t)
	res := do(t, s, request{method: http.MethodGet, path: JWKSPath})
	require.Equal(t, http.StatusOK, res.status)
	set, err := jwk.Parse([]byte(res.raw))
	require.NoError(t, err)
	require.Equal(t, 2, set.Len())
	wantAlg := []string{"RS256", "ES256"}
	for i := range set.Len() {
		k, _ := set.Key(i)
		alg, ok := k.Algorithm()
		require.True(t, ok)
		assert.Equal(t, wantAlg[i], alg.String())
		use, _ := k.KeyUsage()
		assert.Equal(t, "sig", use)
		kid, _ := k.KeyID()
		tp, err := k.Thumbprint(crypto.SHA256)
		require.NoError(t, err)
		assert.Equal(t, base64.RawURLEncoding.EncodeToString(tp), kid, "kid is the RFC 7638 thumbprint")
		assert.False(t, k.Has("d"), "no private parts")
	}
	assert.NotContains(t, res.raw, `"d"`)
	assert.NotContains(t, res.raw, `"p"`)
	ks, err := s.KeySet()
	require.NoError(t, err)
	assert.Equal(t, 2, ks.Len())
}

func TestIssuerWithPath(t *testing.T) {
	s, err := New(Config{Issuer: "https://auth.example.test/realms/dev", Audience: testAudience, Clients: []Client{{ID: "a", Secret: "s", Scope: "user/Patient.read"}}})
	require.NoError(t, err)
	assert.Equal(t, "https://auth.example.test/realms/dev/oauth2/token", s.TokenURL())
	res := do(t, s, request{method: http.MethodGet, path: "/realms/dev" + DiscoveryPath})
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "https://auth.example.test/realms/dev", res.body["issuer"])
	res = do(t, s, request{method: http.MethodGet, path: DiscoveryPath})
	assert.Equal(t, http.StatusNotFound, res.status, "endpoints live below the issuer path only")
}
