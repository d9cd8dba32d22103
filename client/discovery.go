package client

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/origin"
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

// DiscoveredTokenURL returns the token endpoint of sc, the SMART
// configuration read from fhirBase, for a client authenticating with auth.
//
// A shared secret (ClientSecretBasic, ClientSecretPost) is sent only to a
// token endpoint the caller vouched for: the FHIR server's discovery
// document may name any URL, and a compromised or hostile server would
// collect the secret of every client that followed it. So for those
// methods the endpoint must be on fhirBase's origin (scheme, host and
// port, an absent port being the scheme's default); otherwise the error
// wraps ErrForeignTokenEndpoint, and a caller that trusts that endpoint
// passes it to ClientCredentials itself. PrivateKeyJWT takes the endpoint
// from any origin: the client assertion's aud names it, so it is of no use
// at another one.
func DiscoveredTokenURL(fhirBase string, sc *token.SMARTConfiguration, auth ClientAuth) (string, error) {
	if sc == nil || sc.TokenEndpoint == "" {
		return "", fmt.Errorf("%w: the SMART configuration names no token endpoint", ErrConfig)
	}
	if auth == PrivateKeyJWT {
		return sc.TokenEndpoint, nil
	}
	base, err := url.Parse(fhirBase)
	if err != nil {
		return "", fmt.Errorf("%w: FHIR base URL: %w", ErrConfig, err)
	}
	tu, err := url.Parse(sc.TokenEndpoint)
	if err != nil {
		return "", fmt.Errorf("%w: token endpoint %s is not a URL", ErrForeignTokenEndpoint, serverText(sc.TokenEndpoint))
	}
	if !origin.Same(base, tu) {
		return "", fmt.Errorf("%w: token endpoint %s, FHIR base %s", ErrForeignTokenEndpoint, serverText(redactURL(tu)), redactURL(base))
	}
	return sc.TokenEndpoint, nil
}
