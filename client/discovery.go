package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// SMARTConfiguration is the part of a FHIR server's
// {base}/.well-known/smart-configuration document a client acts on.
type SMARTConfiguration struct {
	Issuer                            string   `json:"issuer,omitempty"`
	JWKSURI                           string   `json:"jwks_uri,omitempty"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	Capabilities                      []string `json:"capabilities,omitempty"`
}

// maxDiscoveryDocument bounds the smart-configuration document.
const maxDiscoveryDocument = 1 << 20

// Discover fetches {base}/.well-known/smart-configuration. hc may be nil
// (a client with a 30 s timeout is used). The token endpoint must be an
// absolute http(s) URL, and not plain http when base is https.
func Discover(ctx context.Context, hc *http.Client, base string) (*SMARTConfiguration, error) {
	if hc == nil {
		hc = &http.Client{Timeout: defaultFetchTimeout}
	}
	bu, err := parseBase(base)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	target := bu.String() + "/.well-known/smart-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrDiscovery, target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: GET %s: HTTP %d", ErrDiscovery, target, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryDocument+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrDiscovery, target, err)
	}
	if len(body) > maxDiscoveryDocument {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrDiscovery, target, ErrResponseTooLarge)
	}
	var sc SMARTConfiguration
	if err := json.Unmarshal(body, &sc); err != nil {
		return nil, fmt.Errorf("%w: GET %s: not a JSON object: %w", ErrDiscovery, target, err)
	}
	if sc.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: %s has no token_endpoint", ErrDiscovery, target)
	}
	tu, err := url.Parse(sc.TokenEndpoint)
	if err != nil || !tu.IsAbs() || tu.Host == "" || tu.User != nil || (tu.Scheme != "https" && tu.Scheme != "http") {
		return nil, fmt.Errorf("%w: token_endpoint %q is not an absolute http(s) URL", ErrDiscovery, sc.TokenEndpoint)
	}
	if bu.Scheme == "https" && tu.Scheme != "https" {
		return nil, fmt.Errorf("%w: token_endpoint %q downgrades an https server to http", ErrDiscovery, sc.TokenEndpoint)
	}
	return &sc, nil
}

// Supports checks that the server offers grant (e.g. "client_credentials")
// with the client authentication method auth. Absent lists take their RFC
// 8414 defaults (grants: authorization_code and implicit; auth methods:
// client_secret_basic), so a server that does not declare
// client_credentials is refused. The error wraps ErrUnsupported and names
// what the server does offer.
func (sc *SMARTConfiguration) Supports(grant string, auth ClientAuth) error {
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
	if auth == PrivateKeyJWT && len(sc.TokenEndpointAuthSigningAlgs) > 0 &&
		!slices.Contains(sc.TokenEndpointAuthSigningAlgs, "RS384") && !slices.Contains(sc.TokenEndpointAuthSigningAlgs, "ES384") {
		return fmt.Errorf("%w: client assertions signed with RS384 or ES384 (server supports: %s)", ErrUnsupported, strings.Join(sc.TokenEndpointAuthSigningAlgs, ", "))
	}
	return nil
}
