package authserver

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/dpoperr"
)

// DPoPVerifier checks the DPoP proof of a token request (RFC 9449 section
// 5): its signature, htm and htu (this token endpoint), age and replay.
// VerifyProof returns the RFC 7638 thumbprint of the proof's key, which
// becomes the token's cnf.jkt. *token.DPoPChecker is one. Its errors are
// told apart as token.DPoPChecker's are: one wrapping token.ErrDPoPNonce
// (a proof without the current server nonce) is answered 400
// use_dpop_nonce with the nonce of the verifier's Nonce method, when it
// has one, in a DPoP-Nonce header (RFC 9449 section 8); one wrapping
// token.ErrReplayUnavailable (the proof could not be recorded) 503
// temporarily_unavailable; any other 400 invalid_dpop_proof.
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
		return "", s.dpopRefusal(err)
	}
	return jkt, nil
}

// dpopRefusal is the token endpoint's answer to a proof the DPoPVerifier
// refused with err. A replay store that cannot record the proof is the
// server's trouble, not the client's: 503, and the client may try again
// with a new proof. RFC 6749 registers no token endpoint error for it;
// temporarily_unavailable says what happened where server_error would
// say the server is broken, and the resource server answers the same
// cause 503 too.
func (s *Server) dpopRefusal(err error) *oauthError {
	switch {
	case errors.Is(err, dpoperr.ErrReplayUnavailable):
		return &oauthError{status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Description: "the DPoP proof cannot be checked now; try again with a new proof"}
	case errors.Is(err, dpoperr.ErrNonce):
		// Without a nonce to send, the client could not do as told.
		if n, ok := s.dpop.(interface{ Nonce() string }); ok {
			if nonce := n.Nonce(); nonce != "" {
				return &oauthError{status: http.StatusBadRequest, dpopNonce: nonce, Code: "use_dpop_nonce",
					Description: "the DPoP proof must carry the nonce of the DPoP-Nonce header"}
			}
		}
	}
	return errInvalidDPoPProof(err.Error())
}
