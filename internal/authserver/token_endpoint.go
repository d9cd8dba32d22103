package authserver

import (
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/scope"
)

// tokenResponse is the RFC 6749 section 5.1 success response, with the SMART
// patient launch context.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Patient     string `json:"patient,omitempty"`
}

// handleToken serves POST {issuer}/oauth2/token: the client_credentials grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, oerr := readForm(w, r)
	if oerr == nil {
		oerr = checkGrantType(form)
	}
	var c *registeredClient
	if oerr == nil {
		c, _, oerr = s.authenticateClient(r, form)
	}
	var granted scope.Set
	if oerr == nil {
		granted, oerr = grantScope(c, form)
	}
	var jkt string
	if oerr == nil {
		jkt, oerr = s.dpopBinding(r, c)
	}
	if oerr != nil {
		s.log.Info("authserver: token request refused", "error", oerr.Code, "reason", oerr.Description)
		writeOAuthError(w, oerr)
		return
	}
	tok, err := s.issue(c, granted.String(), jkt)
	if err != nil {
		s.log.Error("authserver: cannot issue token", "client_id", c.ID, "err", err)
		writeOAuthError(w, &oauthError{status: http.StatusInternalServerError, Code: "server_error", Description: "cannot sign the token"})
		return
	}
	tokenType := "Bearer"
	if jkt != "" {
		tokenType = "DPoP"
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok,
		TokenType:   tokenType,
		ExpiresIn:   int64(s.lifetime.Seconds()),
		Scope:       granted.String(),
		Patient:     c.Patient,
	})
}

func checkGrantType(form map[string][]string) *oauthError {
	gt, ok := form["grant_type"]
	switch {
	case !ok || gt[0] == "":
		return errInvalidRequest("grant_type is required")
	case gt[0] != "client_credentials":
		return &oauthError{status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "only client_credentials is supported"}
	}
	return nil
}

// grantScope intersects the requested scope with what the client may have.
// No scope parameter means all of the client's scopes; an empty or malformed
// scope, or an empty intersection, is invalid_scope.
func grantScope(c *registeredClient, form map[string][]string) (scope.Set, *oauthError) {
	req, ok := form["scope"]
	if !ok {
		return c.allowed, nil
	}
	invalid := func(desc string) *oauthError {
		return &oauthError{status: http.StatusBadRequest, Code: "invalid_scope", Description: desc}
	}
	if strings.TrimSpace(req[0]) == "" {
		return scope.Set{}, invalid("scope is empty")
	}
	requested, err := scope.ParseSet(req[0])
	if err != nil {
		return scope.Set{}, invalid(err.Error())
	}
	granted := requested.Intersect(c.allowed)
	if granted.Len() == 0 {
		return scope.Set{}, invalid("none of the requested scopes is allowed for this client")
	}
	return granted, nil
}

// issue creates an access token for c with the granted scope, bound to
// the DPoP key with thumbprint jkt unless jkt is "".
func (s *Server) issue(c *registeredClient, granted, jkt string) (string, error) {
	claims := map[string]any{
		"sub":       c.ID,
		"client_id": c.ID,
		"scope":     granted,
		"nbf":       s.now().Unix(),
	}
	if c.Patient != "" {
		claims["patient"] = c.Patient
	}
	if c.FHIRUser != "" {
		claims["fhirUser"] = c.FHIRUser
	}
	if jkt != "" {
		claims["cnf"] = map[string]any{"jkt": jkt}
	}
	if s.opaque {
		return s.MintOpaque(claims), nil
	}
	return s.Mint(claims)
}
