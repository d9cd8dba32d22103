package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smartServer serves a SMART configuration naming tokenURL(srv) as the
// token endpoint; other paths are answered by rest (when not nil).
func smartServer(t *testing.T, tokenURL func(srv *httptest.Server) string, rest http.HandlerFunc) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fhir/.well-known/smart-configuration" {
			if rest != nil {
				rest(w, r)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":                        tokenURL(srv),
			"grant_types_supported":                 []string{"client_credentials"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A FHIR server whose discovery names a token endpoint on another origin
// gets no secret sent there: DiscoveredTokenURL refuses it before any
// token source exists, and the other origin sees no request.
func TestDiscoveredTokenURLForeignOrigin(t *testing.T) {
	thief := newFakeTokenServer(t)
	fhir := smartServer(t, func(*httptest.Server) string { return thief.URL + "/token" }, nil)
	sc, err := token.DiscoverSMART(context.Background(), fhir.URL+"/fhir")
	require.NoError(t, err)
	for _, auth := range []ClientAuth{ClientSecretBasic, ClientSecretPost} {
		got, err := DiscoveredTokenURL(fhir.URL+"/fhir", sc, auth)
		require.ErrorIs(t, err, ErrForeignTokenEndpoint, auth)
		assert.Empty(t, got)
		assert.Contains(t, err.Error(), "unless the token URL is given explicitly")
		assert.Contains(t, err.Error(), thief.URL)
	}
	assert.Empty(t, thief.Requests(), "the foreign token endpoint got a request")

	// A client assertion names its audience: private_key_jwt may go there.
	got, err := DiscoveredTokenURL(fhir.URL+"/fhir", sc, PrivateKeyJWT)
	require.NoError(t, err)
	assert.Equal(t, thief.URL+"/token", got)

	// Given explicitly, the same endpoint is the caller's choice.
	ts, err := ClientCredentials(thief.URL+"/token", "app", "s3cret")
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Len(t, thief.Requests(), 1)
}

// A token endpoint on the FHIR base's origin (scheme, host and port, a
// default port spelled or not) is used as discovered.
func TestDiscoveredTokenURLSameOrigin(t *testing.T) {
	as := newFakeTokenServer(t)
	fhir := smartServer(t, func(srv *httptest.Server) string { return srv.URL + "/auth/token" }, as.Config.Handler.ServeHTTP)
	sc, err := token.DiscoverSMART(context.Background(), fhir.URL+"/fhir")
	require.NoError(t, err)
	got, err := DiscoveredTokenURL(fhir.URL+"/fhir", sc, ClientSecretBasic)
	require.NoError(t, err)
	assert.Equal(t, fhir.URL+"/auth/token", got)
	ts, err := ClientCredentials(got, "app", "s3cret")
	require.NoError(t, err)
	_, err = ts.Token()
	require.NoError(t, err)
	assert.Len(t, as.Requests(), 1)

	cases := []struct {
		base, tokenURL string
		same           bool
	}{
		{"https://fhir.example/fhir", "https://FHIR.example:443/oauth2/token", true},
		{"https://fhir.example:8443/fhir", "https://fhir.example/token", false},
		{"https://fhir.example/fhir", "https://auth.fhir.example/token", false},
		{"http://fhir.example/fhir", "https://fhir.example/token", false},
		{"https://fhir.example/fhir", "https://fhir.example.evil/token", false},
		{"https://fhir\u03c3.example/fhir", "https://fhir\u03c2.example/token", false}, // another host to net/http
	}
	for _, c := range cases {
		_, err := DiscoveredTokenURL(c.base, &token.SMARTConfiguration{TokenEndpoint: c.tokenURL}, ClientSecretPost)
		assert.Equal(t, c.same, err == nil, "%s %s: %v", c.base, c.tokenURL, err)
		if err != nil {
			assert.True(t, errors.Is(err, ErrForeignTokenEndpoint), err)
		}
	}
}
