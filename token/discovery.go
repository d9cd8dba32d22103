package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
}

// SMARTConfiguration is a FHIR server's SMART App Launch configuration
// ({fhirBase}/.well-known/smart-configuration): what a resource server
// publishes and what a client reads to find and use the token endpoint.
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
	// TokenEndpointAuthSigningAlgs is
	// token_endpoint_auth_signing_alg_values_supported: the algorithms the
	// server accepts for private_key_jwt client assertions.
	TokenEndpointAuthSigningAlgs  []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	ScopesSupported               []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported        []string `json:"response_types_supported,omitempty"`
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported,omitempty"`
	Capabilities                  []string `json:"capabilities,omitempty"`
}

// DiscoverOpenID reads {issuer}/.well-known/openid-configuration. The
// document's "issuer" must equal issuer exactly (OpenID Connect Discovery
// 4.3) and its jwks_uri must be present; endpoint URLs must be https (or
// loopback http; see WithInsecureHTTP), and https when issuer is.
// Unreachable or non-200: ErrIssuerUnavailable; invalid document:
// ErrDiscovery.
func DiscoverOpenID(ctx context.Context, issuer string, opts ...DiscoveryOption) (*ProviderMetadata, error) {
	var md ProviderMetadata
	c, err := fetchWellKnown(ctx, issuer, "openid-configuration", &md, opts)
	if err != nil {
		return nil, err
	}
	if md.Issuer != issuer {
		return nil, fmt.Errorf("%w: document names issuer %q, expected %q", ErrDiscovery, md.Issuer, issuer)
	}
	if md.JWKSURI == "" {
		return nil, fmt.Errorf("%w: jwks_uri missing", ErrDiscovery)
	}
	if err := c.checkEndpoints(map[string]string{
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
// loopback http; see WithInsecureHTTP), and https when fhirBase is. The
// document cannot prove who issued it: use its issuer and jwks_uri only if
// fhirBase itself is trusted. Unreachable or non-200: ErrIssuerUnavailable;
// invalid document: ErrDiscovery.
func DiscoverSMART(ctx context.Context, fhirBase string, opts ...DiscoveryOption) (*SMARTConfiguration, error) {
	var sc SMARTConfiguration
	c, err := fetchWellKnown(ctx, fhirBase, "smart-configuration", &sc, opts)
	if err != nil {
		return nil, err
	}
	if sc.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: token_endpoint missing", ErrDiscovery)
	}
	if err := c.checkEndpoints(map[string]string{
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

// wellKnown is what one discovery call checks its document's endpoints
// against.
type wellKnown struct {
	*httpConfig
	base *url.URL
}

// fetchWellKnown applies opts, checks base and GETs
// {base}/.well-known/{name} into dst.
func fetchWellKnown(ctx context.Context, base, name string, dst any, opts []DiscoveryOption) (wellKnown, error) {
	c := &httpConfig{}
	for _, o := range opts {
		if o == nil {
			return wellKnown{}, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := o.applyDiscovery(c); err != nil {
			return wellKnown{}, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	bu, err := parseEndpoint(base, c.insecure)
	if err != nil {
		return wellKnown{}, fmt.Errorf("%w: discovery base: %w", ErrConfig, err)
	}
	u := strings.TrimSuffix(base, "/") + "/.well-known/" + name
	body, _, err := getDocument(ctx, c.httpClient(), u, maxDiscoveryBytes, false)
	if err != nil {
		// A server that answers, but not with a document (or with a
		// redirect the client refuses), is misconfigured (ErrDiscovery);
		// one that cannot answer now is unavailable.
		var se *httpStatusError
		var tl *tooLargeError
		var re *redirectError
		if errors.As(err, &tl) || errors.As(err, &re) ||
			errors.As(err, &se) && se.code < 500 && se.code != http.StatusTooManyRequests {
			return wellKnown{}, fmt.Errorf("%w: GET %s: %w", ErrDiscovery, u, err)
		}
		return wellKnown{}, fmt.Errorf("%w: GET %s: %w", ErrIssuerUnavailable, u, err)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return wellKnown{}, fmt.Errorf("%w: %s is not a valid JSON document: %w", ErrDiscovery, u, err)
	}
	return wellKnown{httpConfig: c, base: bu}, nil
}

// checkEndpoints checks the document's non-empty endpoint URLs: each as
// parseEndpoint allows, and none plain http when the base is https (a
// downgrade an attacker on the path to the endpoint could exploit).
func (w wellKnown) checkEndpoints(endpoints map[string]string) error {
	for name, raw := range endpoints {
		if raw == "" {
			continue
		}
		u, err := parseEndpoint(raw, w.insecure)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrDiscovery, name, err)
		}
		if w.base.Scheme == "https" && u.Scheme != "https" {
			return fmt.Errorf("%w: %s %q downgrades an https server to http", ErrDiscovery, name, u.Redacted())
		}
	}
	return nil
}
