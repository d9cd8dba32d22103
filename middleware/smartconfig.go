package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/fhirwarden/fhirwarden/token"
)

// SMARTConfigurationHandler serves cfg as the SMART App Launch
// configuration document ({base}/.well-known/smart-configuration, public by
// default in the Middleware). The document is validated and encoded once,
// here: token_endpoint is required, every endpoint must be an absolute
// http(s) URL, grant_types_supported must not be empty, and
// code_challenge_methods_supported (optional) must not offer "plain"
// (SMART App Launch 2.x). capabilities is always present (possibly
// empty). The handler answers GET and HEAD, and 405 to anything else.
func SMARTConfigurationHandler(cfg token.SMARTConfiguration) (http.Handler, error) {
	var errs []error
	if cfg.TokenEndpoint == "" {
		errs = append(errs, errors.New("token_endpoint is required"))
	}
	for name, u := range map[string]string{
		"issuer": cfg.Issuer, "jwks_uri": cfg.JWKSURI, "authorization_endpoint": cfg.AuthorizationEndpoint,
		"token_endpoint": cfg.TokenEndpoint, "introspection_endpoint": cfg.IntrospectionEndpoint,
		"revocation_endpoint": cfg.RevocationEndpoint, "management_endpoint": cfg.ManagementEndpoint,
		"registration_endpoint": cfg.RegistrationEndpoint,
	} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute http(s) URL", name, u))
		}
	}
	if len(cfg.GrantTypesSupported) == 0 {
		errs = append(errs, errors.New("grant_types_supported must name at least one grant type"))
	}
	if slices.Contains(cfg.CodeChallengeMethodsSupported, "plain") {
		errs = append(errs, errors.New(`code_challenge_methods_supported must not include "plain"`))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("middleware: SMART configuration: %w", err)
	}
	doc := smartDocument{SMARTConfiguration: cfg, Capabilities: cfg.Capabilities}
	if doc.Capabilities == nil {
		doc.Capabilities = []string{}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("middleware: SMART configuration: %w", err)
	}
	return smartHandler(body), nil
}

// smartDocument is the encoded document: capabilities is never omitted.
type smartDocument struct {
	token.SMARTConfiguration
	Capabilities []string `json:"capabilities"`
}

type smartHandler []byte

func (h smartHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(h)))
	hd.Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(h)
	}
}
