package authserver

import (
	"context"
	"net/http"
	"strings"
)

// DPoPVerifier checks the DPoP proof of a token request (RFC 9449 section
// 5): its signature, htm and htu (this token endpoint), age and replay.
// VerifyProof returns the RFC 7638 thumbprint of the proof's key, which
// becomes the token's cnf.jkt. *token.DPoPChecker is one.
type DPoPVerifier interface {
	VerifyProof(ctx context.Context, proof, method, url string) (jkt string, err error)
}

// dpopAlgorithms lists the proof algorithms of the DPoPVerifier, when it
// says (as *token.DPoPChecker does); nil without DPoP.
func (s *Server) dpopAlgorithms() []string {
	if a, ok := s.dpop.(interface{ Algorithms() string }); ok {
		return strings.Fields(a.Algorithms())
	}
	return nil
}

// errInvalidDPoPProof is the token endpoint's refusal of a proof (RFC 9449
// section 5).
func errInvalidDPoPProof(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: "invalid_dpop_proof", Description: desc}
}

// dpopBinding checks the token request's DPoP header and returns the
// thumbprint the token is bound to: "" for a bearer token (no proof, or no
// DPoPVerifier configured). A client registered with dpop_bound_access_tokens
// must send a proof.
func (s *Server) dpopBinding(r *http.Request, c *registeredClient) (string, *oauthError) {
	proofs := r.Header.Values("DPoP")
	switch {
	case len(proofs) > 1:
		return "", errInvalidDPoPProof("more than one DPoP header")
	case len(proofs) == 0 && c.DPoPBound:
		return "", errInvalidDPoPProof("this client must send a DPoP proof (dpop_bound_access_tokens)")
	case len(proofs) == 0:
		return "", nil
	case s.dpop == nil:
		if c.DPoPBound {
			return "", &oauthError{status: http.StatusInternalServerError, Code: "server_error", Description: "DPoP is not configured"}
		}
		return "", nil // RFC 9449 section 5: a server without DPoP issues a bearer token
	}
	jkt, err := s.dpop.VerifyProof(r.Context(), proofs[0], r.Method, s.TokenURL())
	if err != nil {
		return "", errInvalidDPoPProof(err.Error())
	}
	return jkt, nil
}
