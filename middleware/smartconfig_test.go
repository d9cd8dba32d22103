package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

func TestSMARTConfigurationHandler(t *testing.T) {
	cfg := token.SMARTConfiguration{
		Issuer:                            "https://idp.example",
		JWKSURI:                           "https://idp.example/jwks",
		TokenEndpoint:                     "https://idp.example/token",
		IntrospectionEndpoint:             "https://idp.example/introspect",
		GrantTypesSupported:               []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "private_key_jwt"},
		ScopesSupported:                   []string{"system/*.rs", "user/Patient.rs"},
		Capabilities:                      []string{"client-confidential-symmetric", "permission-v2"},
	}
	h, err := middleware.SMARTConfigurationHandler(cfg)
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fhir/.well-known/smart-configuration", nil))
	require.Equal(t, 200, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.Equal(t, map[string]any{
		"issuer":                                "https://idp.example",
		"jwks_uri":                              "https://idp.example/jwks",
		"token_endpoint":                        "https://idp.example/token",
		"introspection_endpoint":                "https://idp.example/introspect",
		"grant_types_supported":                 []any{"client_credentials"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "private_key_jwt"},
		"scopes_supported":                      []any{"system/*.rs", "user/Patient.rs"},
		"capabilities":                          []any{"client-confidential-symmetric", "permission-v2"},
	}, doc)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
	assert.Equal(t, 200, rec.Code)
	assert.Empty(t, rec.Body.Bytes())
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, 405, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))

	t.Run("capabilities always present", func(t *testing.T) {
		h, err := middleware.SMARTConfigurationHandler(token.SMARTConfiguration{TokenEndpoint: "https://idp.example/token", GrantTypesSupported: []string{"client_credentials"}, CodeChallengeMethodsSupported: []string{"S256"}})
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		assert.JSONEq(t, `{"token_endpoint":"https://idp.example/token","grant_types_supported":["client_credentials"],"code_challenge_methods_supported":["S256"],"capabilities":[]}`, rec.Body.String())
	})
	for name, bad := range map[string]token.SMARTConfiguration{
		"no token endpoint": {GrantTypesSupported: []string{"client_credentials"}},
		"relative endpoint": {TokenEndpoint: "/token", GrantTypesSupported: []string{"client_credentials"}},
		"ftp jwks":          {TokenEndpoint: "https://idp/token", JWKSURI: "ftp://idp/jwks", GrantTypesSupported: []string{"client_credentials"}},
		"no grant types":    {TokenEndpoint: "https://idp/token"},
		"plain PKCE":        {TokenEndpoint: "https://idp/token", GrantTypesSupported: []string{"authorization_code"}, CodeChallengeMethodsSupported: []string{"S256", "plain"}},
	} {
		_, err := middleware.SMARTConfigurationHandler(bad)
		assert.Error(t, err, name)
	}
}
