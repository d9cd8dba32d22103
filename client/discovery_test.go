package client

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/token"
)

func TestServerSupports(t *testing.T) {
	full := &token.SMARTConfiguration{
		GrantTypesSupported:               []string{"authorization_code", "client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "private_key_jwt"},
		TokenEndpointAuthSigningAlgs:      []string{"RS384", "ES384"},
	}
	assert.NoError(t, ServerSupports(full, "client_credentials", ClientSecretBasic))
	assert.NoError(t, ServerSupports(full, "client_credentials", PrivateKeyJWT))
	err := ServerSupports(full, "client_credentials", ClientSecretPost)
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "client_secret_basic, private_key_jwt", "names what the server offers")

	empty := &token.SMARTConfiguration{}
	err = ServerSupports(empty, "client_credentials", ClientSecretBasic)
	assert.ErrorIs(t, err, ErrUnsupported, "no grant list: RFC 8414 defaults exclude client_credentials")

	defaults := &token.SMARTConfiguration{GrantTypesSupported: []string{"client_credentials"}}
	assert.NoError(t, ServerSupports(defaults, "client_credentials", ClientSecretBasic), "auth methods default to client_secret_basic")
	assert.ErrorIs(t, ServerSupports(defaults, "client_credentials", ClientSecretPost), ErrUnsupported)

	rs256 := &token.SMARTConfiguration{GrantTypesSupported: []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"private_key_jwt"}, TokenEndpointAuthSigningAlgs: []string{"RS256"}}
	assert.ErrorIs(t, ServerSupports(rs256, "client_credentials", PrivateKeyJWT), ErrUnsupported)
}
