package authserver

import (
	"net/http"
	"slices"
	"strings"
)

// SMARTCapabilities are the SMART App Launch capabilities of the server.
var SMARTCapabilities = []string{
	"client-confidential-symmetric",
	"client-confidential-asymmetric",
	"permission-v1",
	"permission-v2",
}

// metadata holds the fields common to both discovery documents.
func (s *Server) metadata() map[string]any {
	m := map[string]any{
		"issuer":                                s.issuer,
		"token_endpoint":                        s.TokenURL(),
		"jwks_uri":                              s.JWKSURL(),
		"introspection_endpoint":                s.IntrospectionURL(),
		"revocation_endpoint":                   s.RevocationURL(),
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKey},
		"token_endpoint_auth_signing_alg_values_supported": slices.Clone(AssertionAlgorithms),
		"scopes_supported": s.ScopesSupported(),
	}
	if algs := s.dpopAlgorithms(); algs != nil {
		m["dpop_signing_alg_values_supported"] = algs // RFC 9449 section 5.1
	}
	return m
}

// OpenIDConfiguration returns the document served at
// {issuer}/.well-known/openid-configuration (OpenID Connect Discovery /
// RFC 8414 metadata).
func (s *Server) OpenIDConfiguration() map[string]any {
	m := s.metadata()
	m["introspection_endpoint_auth_methods_supported"] = []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKey}
	m["revocation_endpoint_auth_methods_supported"] = []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKey}
	m["access_token_signing_alg_values_supported"] = []string{"RS256"}
	return m
}

// SMARTConfiguration returns the fields of a SMART App Launch
// .well-known/smart-configuration document for a FHIR server that trusts this
// issuer: token, JWKS, introspection and revocation endpoints, grant types,
// client authentication methods and algorithms, scopes and capabilities. The
// FHIR server serves it at {fhirBase}/.well-known/smart-configuration.
func (s *Server) SMARTConfiguration() map[string]any {
	m := s.metadata()
	m["capabilities"] = slices.Clone(SMARTCapabilities)
	return m
}

// ScopesSupported returns the sorted union of the scopes the registered
// clients may be granted.
func (s *Server) ScopesSupported() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, c := range s.clients {
		out = append(out, strings.Fields(c.Scope)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Server) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.OpenIDConfiguration())
}

func (s *Server) handleSMART(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.SMARTConfiguration())
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	b, err := s.JWKS()
	if err != nil {
		writeOAuthError(w, &oauthError{status: http.StatusInternalServerError, Code: "server_error"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b)
}
