package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ProviderMetadata is the part of an OpenID Provider / OAuth 2.0
// Authorization Server metadata document (OpenID Connect Discovery 1.0,
// RFC 8414) that a resource server uses.
type ProviderMetadata struct {
	Issuer                string   `json:"issuer"`
	JWKSURI               string   `json:"jwks_uri"`
	AuthorizationEndpoint string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string   `json:"token_endpoint,omitempty"`
	IntrospectionEndpoint string   `json:"introspection_endpoint,omitempty"`
	RevocationEndpoint    string   `json:"revocation_endpoint,omitempty"`
	ScopesSupported       []string `json:"scopes_supported,omitempty"`
	// SigningAlgorithms is id_token_signing_alg_values_supported (informative only).
	SigningAlgorithms []string `json:"id_token_signing_alg_values_supported,omitempty"`
}

// SMARTConfiguration is the part of a FHIR server's SMART App Launch
// configuration ({fhirBase}/.well-known/smart-configuration) that matters
// for token validation and clients.
type SMARTConfiguration struct {
	Issuer                            string   `json:"issuer,omitempty"`
	JWKSURI                           string   `json:"jwks_uri,omitempty"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	ManagementEndpoint                string   `json:"management_endpoint,omitempty"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	Capabilities                      []string `json:"capabilities,omitempty"`
}

// Discover reads {issuer}/.well-known/openid-configuration. The document's
// "issuer" must equal issuer exactly (OpenID Connect Discovery 4.3) and its
// jwks_uri must be present; endpoint URLs must be https (or loopback http;
// see WithInsecureHTTP). Unreachable or non-200: ErrIssuerUnavailable;
// invalid document: ErrDiscovery.
func Discover(ctx context.Context, issuer string, opts ...DiscoveryOption) (*ProviderMetadata, error) {
	c, err := discoveryConfig(opts)
	if err != nil {
		return nil, err
	}
	if _, err := parseEndpoint(issuer, c.insecure); err != nil {
		return nil, fmt.Errorf("%w: issuer: %w", ErrConfig, err)
	}
	var md ProviderMetadata
	if err := fetchDocument(ctx, c, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &md); err != nil {
		return nil, err
	}
	if md.Issuer != issuer {
		return nil, fmt.Errorf("%w: document names issuer %q, expected %q", ErrDiscovery, md.Issuer, issuer)
	}
	if md.JWKSURI == "" {
		return nil, fmt.Errorf("%w: jwks_uri missing", ErrDiscovery)
	}
	if err := checkEndpoints(c, map[string]string{
		"jwks_uri":               md.JWKSURI,
		"introspection_endpoint": md.IntrospectionEndpoint,
		"token_endpoint":         md.TokenEndpoint,
		"authorization_endpoint": md.AuthorizationEndpoint,
		"revocation_endpoint":    md.RevocationEndpoint,
	}); err != nil {
		return nil, err
	}
	return &md, nil
}

// DiscoverSMART reads {fhirBase}/.well-known/smart-configuration. Its
// token_endpoint must be present, and endpoint URLs must be https (or
// loopback http). The document cannot prove who issued it: use its issuer
// and jwks_uri only if fhirBase itself is trusted. Unreachable or non-200:
// ErrIssuerUnavailable; invalid document: ErrDiscovery.
func DiscoverSMART(ctx context.Context, fhirBase string, opts ...DiscoveryOption) (*SMARTConfiguration, error) {
	c, err := discoveryConfig(opts)
	if err != nil {
		return nil, err
	}
	if _, err := parseEndpoint(fhirBase, c.insecure); err != nil {
		return nil, fmt.Errorf("%w: FHIR base: %w", ErrConfig, err)
	}
	var sc SMARTConfiguration
	if err := fetchDocument(ctx, c, strings.TrimSuffix(fhirBase, "/")+"/.well-known/smart-configuration", &sc); err != nil {
		return nil, err
	}
	if sc.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: token_endpoint missing", ErrDiscovery)
	}
	if err := checkEndpoints(c, map[string]string{
		"issuer":                 sc.Issuer,
		"jwks_uri":               sc.JWKSURI,
		"introspection_endpoint": sc.IntrospectionEndpoint,
		"token_endpoint":         sc.TokenEndpoint,
		"authorization_endpoint": sc.AuthorizationEndpoint,
		"revocation_endpoint":    sc.RevocationEndpoint,
		"management_endpoint":    sc.ManagementEndpoint,
		"registration_endpoint":  sc.RegistrationEndpoint,
	}); err != nil {
		return nil, err
	}
	return &sc, nil
}

func discoveryConfig(opts []DiscoveryOption) (*httpConfig, error) {
	c := &httpConfig{}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := o.applyDiscovery(c); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	return c, nil
}

// fetchDocument GETs a JSON document into dst.
func fetchDocument(ctx context.Context, c *httpConfig, u string, dst any) error {
	body, _, err := getDocument(ctx, c.httpClient(), u, maxDiscoveryBytes, false)
	if err != nil {
		// A server that answers, but not with a document, is misconfigured
		// (ErrDiscovery); one that cannot answer now is unavailable.
		var se *httpStatusError
		var tl *tooLargeError
		if errors.As(err, &tl) || errors.As(err, &se) && se.code < 500 && se.code != http.StatusTooManyRequests {
			return fmt.Errorf("%w: GET %s: %w", ErrDiscovery, u, err)
		}
		return fmt.Errorf("%w: GET %s: %w", ErrIssuerUnavailable, u, err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("%w: %s is not a valid JSON document: %w", ErrDiscovery, u, err)
	}
	return nil
}

func checkEndpoints(c *httpConfig, endpoints map[string]string) error {
	for name, u := range endpoints {
		if u == "" {
			continue
		}
		if _, err := parseEndpoint(u, c.insecure); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrDiscovery, name, err)
		}
	}
	return nil
}
