package client

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/token"
)

// ServerSupports checks that a server's SMART configuration (from
// token.DiscoverSMART) offers grant (e.g. "client_credentials") with the
// client authentication method auth, and, for PrivateKeyJWT, an algorithm
// this package signs client assertions with (RS384 or ES384). Absent lists
// take their RFC 8414 defaults (grants: authorization_code and implicit;
// auth methods: client_secret_basic), so a server that does not declare
// client_credentials is refused. The error wraps ErrUnsupported and names
// what the server does offer.
func ServerSupports(sc *token.SMARTConfiguration, grant string, auth ClientAuth) error {
	grants := sc.GrantTypesSupported
	if len(grants) == 0 {
		grants = []string{"authorization_code", "implicit"}
	}
	if !slices.Contains(grants, grant) {
		return fmt.Errorf("%w: grant type %q (server supports: %s)", ErrUnsupported, grant, strings.Join(grants, ", "))
	}
	methods := sc.TokenEndpointAuthMethodsSupported
	if len(methods) == 0 {
		methods = []string{string(ClientSecretBasic)}
	}
	if !slices.Contains(methods, string(auth)) {
		return fmt.Errorf("%w: token endpoint auth method %q (server supports: %s)", ErrUnsupported, auth, strings.Join(methods, ", "))
	}
	algs := sc.TokenEndpointAuthSigningAlgs
	if auth == PrivateKeyJWT && len(algs) > 0 && !slices.Contains(algs, "RS384") && !slices.Contains(algs, "ES384") {
		return fmt.Errorf("%w: client assertions signed with RS384 or ES384 (server supports: %s)", ErrUnsupported, strings.Join(algs, ", "))
	}
	return nil
}
