package client

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscover(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   func(base string) string
		ok     bool
	}{
		{"valid", 200, func(b string) string {
			return `{"token_endpoint":"` + b + `/token","grant_types_supported":["client_credentials"]}`
		}, true},
		{"404", 404, func(string) string { return "" }, false},
		{"not json", 200, func(string) string { return "<html>" }, false},
		{"no token endpoint", 200, func(string) string { return `{"issuer":"x"}` }, false},
		{"relative token endpoint", 200, func(string) string { return `{"token_endpoint":"/token"}` }, false},
		{"javascript token endpoint", 200, func(string) string { return `{"token_endpoint":"javascript:alert(1)"}` }, false},
		{"token endpoint with credentials", 200, func(string) string { return `{"token_endpoint":"https://u:p@as.example/token"}` }, false},
		{"huge", 200, func(string) string { return `{"token_endpoint":"` + strings.Repeat("a", maxDiscoveryDocument) + `"}` }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.URL.Path != "/fhir/.well-known/smart-configuration" {
					w.WriteHeader(404)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body(base)))
			})
			base = f.URL + "/fhir"
			sc, err := Discover(context.Background(), nil, base+"/")
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, base+"/token", sc.TokenEndpoint)
			} else {
				assert.ErrorIs(t, err, ErrDiscovery)
			}
		})
	}
	_, err := Discover(context.Background(), nil, "not a url")
	assert.ErrorIs(t, err, ErrDiscovery)
}

func TestDiscoverRefusesDowngrade(t *testing.T) {
	// An https base whose document points to a plain-http token endpoint.
	tls := newTLSFHIR(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"token_endpoint": "http://as.example/token"})
	})
	_, err := Discover(context.Background(), tls.Client(), tls.URL)
	assert.ErrorIs(t, err, ErrDiscovery)
	assert.Contains(t, err.Error(), "downgrades")
}

func TestSupports(t *testing.T) {
	full := &SMARTConfiguration{
		GrantTypesSupported:               []string{"authorization_code", "client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "private_key_jwt"},
		TokenEndpointAuthSigningAlgs:      []string{"RS384", "ES384"},
	}
	assert.NoError(t, full.Supports("client_credentials", ClientSecretBasic))
	assert.NoError(t, full.Supports("client_credentials", PrivateKeyJWT))
	err := full.Supports("client_credentials", ClientSecretPost)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "client_secret_basic, private_key_jwt", "names what the server offers")

	empty := &SMARTConfiguration{}
	err = empty.Supports("client_credentials", ClientSecretBasic)
	assert.ErrorIs(t, err, ErrUnsupported, "no grant list: RFC 8414 defaults exclude client_credentials")

	defaults := &SMARTConfiguration{GrantTypesSupported: []string{"client_credentials"}}
	assert.NoError(t, defaults.Supports("client_credentials", ClientSecretBasic), "auth methods default to client_secret_basic")
	assert.ErrorIs(t, defaults.Supports("client_credentials", ClientSecretPost), ErrUnsupported)

	rs256 := &SMARTConfiguration{GrantTypesSupported: []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"private_key_jwt"}, TokenEndpointAuthSigningAlgs: []string{"RS256"}}
	assert.ErrorIs(t, rs256.Supports("client_credentials", PrivateKeyJWT), ErrUnsupported)
}
