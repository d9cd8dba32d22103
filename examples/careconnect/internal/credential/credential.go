package credential

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// RFC 6750 and RFC 9449 section 7.1 error codes.
const (
	codeInvalidToken = "invalid_token"
	codeInvalidProof = "invalid_dpop_proof"
	codeUseNonce     = "use_dpop_nonce"
)

// Checker authenticates requests. Create it with New.
type Checker struct {
	auth  token.Authenticator
	bound token.BoundAuthenticator // nil: the DPoP scheme is off
	proof *token.DPoPChecker
	dpop  middleware.DPoPConfig
}

// New returns a Checker of the tokens auth verifies. dpop, when not nil,
// is the configuration given to middleware.WithDPoP: its Replay must be
// set, the one store the middleware records proofs in too (a checker
// with a cache of its own would take a proof the middleware has seen,
// and the other way round), and auth must be a token.BoundAuthenticator.
func New(auth token.Authenticator, dpop *middleware.DPoPConfig) (*Checker, error) {
	if auth == nil {
		return nil, errors.New("credential: no Authenticator")
	}
	c := &Checker{auth: auth}
	if dpop == nil {
		return c, nil
	}
	bound, ok := auth.(token.BoundAuthenticator)
	switch {
	case !ok:
		return nil, errors.New("credential: DPoP needs a token.BoundAuthenticator")
	case dpop.Replay == nil:
		return nil, errors.New("credential: DPoP needs the middleware's replay cache (DPoPConfig.Replay)")
	}
	if _, err := dpop.ProofURL(&http.Request{URL: &url.URL{Path: "/"}}); err != nil {
		return nil, err
	}
	proof, err := token.NewDPoPChecker(dpop.DPoPConfig)
	if err != nil {
		return nil, err
	}
	c.bound, c.proof, c.dpop = bound, proof, *dpop
	return c, nil
}

// Refusal says why a request's credentials were refused.
type Refusal struct {
	// Status is 401, or 503 when the proof could not be recorded (the
	// replay cache is full or down): not the client's fault.
	Status int
	// Code is the error of the challenge ("" when the request had no
	// credentials, or for a 503).
	Code string
	// DPoP: the request used the DPoP scheme.
	DPoP bool
	// Message says what was refused, for people.
	Message string
}

// Authenticate returns the Principal of r's credentials, or why they
// are refused.
func (c *Checker) Authenticate(r *http.Request) (*token.Principal, *Refusal) {
	if c.proof != nil {
		if raw, proof, ok := middleware.DPoPToken(r.Header); ok {
			return c.authenticateDPoP(r, raw, proof)
		}
		if isDPoP(r.Header) {
			return nil, &Refusal{Status: http.StatusUnauthorized, Code: codeInvalidProof, DPoP: true,
				Message: "the DPoP scheme needs one access token and exactly one DPoP proof header"}
		}
	}
	raw, ok := middleware.BearerToken(r.Header)
	if !ok {
		return nil, &Refusal{Status: http.StatusUnauthorized, Message: "no access token"}
	}
	p, err := c.auth.Authenticate(r.Context(), raw)
	if err != nil {
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: codeInvalidToken, Message: "the access token is not valid"}
	}
	return p, nil
}

// isDPoP reports whether h's Authorization names the DPoP scheme, as
// the middleware recognizes it, whether or not it is well formed.
func isDPoP(h http.Header) bool {
	for _, v := range h["Authorization"] {
		if len(v) >= 5 && strings.EqualFold(v[:5], "DPoP ") {
			return true
		}
	}
	return false
}

// authenticateDPoP checks the proof for r's URL and method and the
// token's binding to the proof's key.
func (c *Checker) authenticateDPoP(r *http.Request, raw, proof string) (*token.Principal, *Refusal) {
	u, err := c.dpop.ProofURL(r)
	if err != nil { // New checked the configuration; fail closed all the same
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: codeInvalidProof, DPoP: true, Message: "the DPoP proof cannot be checked"}
	}
	p, err := c.proof.Authenticate(r.Context(), c.bound, raw, proof, token.ProofRequest{Method: r.Method, URL: u})
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, token.ErrReplayUnavailable):
		return nil, &Refusal{Status: http.StatusServiceUnavailable, DPoP: true,
			Message: "the DPoP proof cannot be checked now: the replay cache is unavailable; try again later"}
	case errors.Is(err, token.ErrDPoPNonce):
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: codeUseNonce, DPoP: true,
			Message: "the DPoP proof must carry the nonce of the DPoP-Nonce header"}
	case errors.Is(err, token.ErrDPoPProof):
		return nil, &Refusal{Status: http.StatusUnauthorized, Code: codeInvalidProof, DPoP: true, Message: "the DPoP proof was not accepted"}
	}
	return nil, &Refusal{Status: http.StatusUnauthorized, Code: codeInvalidToken, DPoP: true, Message: "the access token is not valid"}
}

// Challenge sets the WWW-Authenticate headers of a 401 answer to f in
// realm (RFC 6750 section 3, RFC 9449 section 7.1): the scheme the
// request used with f's error, and the DPoP scheme with its proof
// algorithms whenever it is on (RFC 9449 section 7.2), with the nonce
// the next proof must carry when nonces are required.
func (c *Checker) Challenge(h http.Header, realm string, f *Refusal) {
	if f.Status != http.StatusUnauthorized {
		return
	}
	if !f.DPoP {
		h.Add("WWW-Authenticate", challenge("Bearer", realm, f.Code))
	}
	if c.proof == nil {
		return
	}
	code := f.Code
	if !f.DPoP {
		code = ""
	}
	h.Add("WWW-Authenticate", challenge("DPoP", realm, code)+`, algs="`+c.proof.Algorithms()+`"`)
	if n := c.proof.Nonce(); n != "" {
		h.Set("DPoP-Nonce", n)
	}
}

// challenge is a challenge of scheme in realm with error code, when one
// is given. realm and code are the server's own words, never a client's.
func challenge(scheme, realm, code string) string {
	s := scheme + ` realm="` + realm + `"`
	if code != "" {
		s += `, error="` + code + `"`
	}
	return s
}
