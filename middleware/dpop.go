package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/dpopurl"
	"github.com/fhirwarden/fhirwarden/token"
)

// RFC 9449 section 7.1 error codes.
const (
	errInvalidDPoPProof = "invalid_dpop_proof"
	errUseDPoPNonce     = "use_dpop_nonce"
)

// DPoPConfig configures the DPoP scheme (RFC 9449): the proof checks of
// token.DPoPConfig and the URL clients address this server by.
type DPoPConfig struct {
	token.DPoPConfig
	// ExternalURL is the scheme, host and port clients address this server
	// by ("https://fhir.example.org"), when it sits behind a proxy or load
	// balancer: a proof's htu must be this URL followed by the request's
	// path. Without it, the URL is the request's own (https when the
	// connection is TLS, the Host header); forwarding headers such as
	// X-Forwarded-Host are never trusted.
	ExternalURL string
}

// dpopSetup is the DPoP scheme, ready to serve.
type dpopSetup struct {
	checker  *token.DPoPChecker
	external string // normalized origin, without the trailing "/"; "" when none
	auth     token.BoundAuthenticator
}

// WithDPoP accepts, besides bearer tokens, DPoP-bound access tokens
// presented as "Authorization: DPoP <token>" with a "DPoP: <proof>"
// header (RFC 9449): the proof is checked on every request (the verified
// token may come from the token cache, the proof never does), and the
// token must be bound to the proof's key (cnf.jkt). A DPoP-bound token
// presented as Bearer is refused. The Authenticator given to New must be a
// token.BoundAuthenticator (token.Verifier, token.Introspector, or
// token.FirstOf of them).
func WithDPoP(cfg DPoPConfig) Option {
	return func(c *config) error {
		checker, err := token.NewDPoPChecker(cfg.DPoPConfig)
		if err != nil {
			return fmt.Errorf("middleware: WithDPoP: %w", err)
		}
		external, err := cfg.externalOrigin()
		if err != nil {
			return fmt.Errorf("middleware: WithDPoP: %w", err)
		}
		c.dpop = &dpopSetup{checker: checker, external: external}
		return nil
	}
}

// externalOrigin is ExternalURL normalized, without the trailing "/"
// ("" when there is none).
func (cfg DPoPConfig) externalOrigin() (string, error) {
	if cfg.ExternalURL == "" {
		return "", nil
	}
	u, err := dpopurl.Normalize(cfg.ExternalURL)
	if err != nil || !strings.HasSuffix(u, "/") || strings.Count(u, "/") != 3 {
		return "", fmt.Errorf("ExternalURL %q is not an http(s) origin (scheme://host[:port])", cfg.ExternalURL)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// ProofURL is the URL a DPoP proof of r must name (its htu) under
// WithDPoP(cfg): ExternalURL, or else r's own origin, followed by r's
// path. A handler beside the middleware that checks proofs itself
// (token.DPoPChecker.Authenticate) checks them for this URL, so that it
// takes the proofs the middleware takes and no others.
func (cfg DPoPConfig) ProofURL(r *http.Request) (string, error) {
	external, err := cfg.externalOrigin()
	if err != nil {
		return "", fmt.Errorf("middleware: %w", err)
	}
	return proofURL(external, r), nil
}

// bindAuthenticator checks that auth can return bound tokens when DPoP or
// mTLS binding is on.
func (c *config) bindAuthenticator(auth token.Authenticator) error {
	if _, ok := auth.(token.BoundAuthenticator); c.mtls && !ok {
		return errors.New("middleware: WithMTLSBinding needs a token.BoundAuthenticator (token.Verifier, token.Introspector or token.FirstOf of them)")
	}
	return c.dpop.bind(auth)
}

// bind checks that auth can return bound tokens. A nil setup (no DPoP)
// needs nothing.
func (d *dpopSetup) bind(auth token.Authenticator) error {
	if d == nil {
		return nil
	}
	b, ok := auth.(token.BoundAuthenticator)
	if !ok {
		return errors.New("middleware: WithDPoP needs a token.BoundAuthenticator (token.Verifier, token.Introspector or token.FirstOf of them)")
	}
	d.auth = b
	return nil
}

// usesDPoP reports whether the request's one Authorization header names
// the DPoP scheme.
func usesDPoP(h http.Header) bool {
	vals := h["Authorization"]
	return len(vals) == 1 && len(vals[0]) > 5 && strings.EqualFold(vals[0][:5], "DPoP ")
}

// DPoPToken returns the access token of h's one "Authorization: DPoP"
// header and the proof of its one DPoP header as a Middleware with
// WithDPoP and the default token size reads them (the scheme in any
// letter case, one or more spaces, a b64token), and false for anything
// else. Like BearerToken, it is for a handler beside the middleware that
// authenticates a request itself (token.DPoPChecker.Authenticate): it
// takes exactly the requests the middleware would check.
func DPoPToken(h http.Header) (raw, proof string, ok bool) {
	if !usesDPoP(h) {
		return "", "", false
	}
	raw, proof, code, _ := dpopFromHeader(h, token.DefaultMaxTokenSize+len("Bearer "))
	return raw, proof, code == ""
}

// dpopFromHeader reads the token and the proof of a request that uses
// the DPoP scheme; code and description say why they are refused ("" and
// "" when they are not).
func dpopFromHeader(h http.Header, maxHeader int) (raw, proof, code, description string) {
	v := h["Authorization"][0]
	if len(v) > maxHeader {
		return "", "", errInvalidToken, bearerTooLarge.description()
	}
	raw = strings.TrimLeft(v[len("DPoP "):], " ")
	if !isB64Token(raw) {
		return "", "", errInvalidToken, "the DPoP access token is missing or contains characters not allowed by RFC 6750 (b64token)"
	}
	proofs := h["Dpop"]
	if len(proofs) != 1 {
		return "", "", errInvalidDPoPProof, "a request with the DPoP scheme needs exactly one DPoP header, it has " + strconv.Itoa(len(proofs))
	}
	return raw, proofs[0], "", ""
}

// authenticateDPoP authenticates a request made with the DPoP scheme, or
// answers it and returns nil.
func (m *Middleware) authenticateDPoP(st *requestState, r *http.Request) *token.Principal {
	d := m.cfg.dpop
	raw, proof, code, description := dpopFromHeader(r.Header, m.maxHeader)
	if code != "" {
		m.refuseDPoP(st, http.StatusUnauthorized, code, description)
		return nil
	}
	req := token.ProofRequest{Method: r.Method, URL: d.targetURL(r)}
	p, err := d.checker.Authenticate(r.Context(), d.auth, raw, proof, req)
	if err != nil {
		m.refuseDPoPError(st, err, raw)
		return nil
	}
	return p
}

// targetURL is the request's URL as the client addressed it, without
// query: the configured external origin, or the request's own.
func (d *dpopSetup) targetURL(r *http.Request) string { return proofURL(d.external, r) }

// proofURL is r's URL without query, at origin external ("" for r's own:
// https when the connection is TLS, the Host header).
func proofURL(external string, r *http.Request) string {
	origin := external
	if origin == "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		origin = scheme + r.Host
	}
	return origin + r.URL.EscapedPath()
}

// refuseDPoPError answers a request whose DPoP proof or token was refused.
func (m *Middleware) refuseDPoPError(st *requestState, err error, raw string) {
	switch {
	case errors.Is(err, token.ErrIssuerUnavailable):
		m.refuseToken(st, err, raw)
	case errors.Is(err, token.ErrReplayUnavailable):
		m.refuse(st, http.StatusServiceUnavailable, "transient",
			"the DPoP proof cannot be checked now: the replay cache is unavailable; try again later")
	case errors.Is(err, token.ErrDPoPNonce):
		m.refuseDPoP(st, http.StatusUnauthorized, errUseDPoPNonce, "the DPoP proof must carry the nonce of the DPoP-Nonce header")
	case errors.Is(err, token.ErrDPoPProof):
		m.refuseDPoP(st, http.StatusUnauthorized, errInvalidDPoPProof, "the DPoP proof was not accepted ("+scrub(err.Error(), raw)+")")
	default:
		m.refuseDPoP(st, http.StatusUnauthorized, errInvalidToken, tokenDescription(err)+" ("+scrub(err.Error(), raw)+")")
	}
}

// refuseDPoP answers 401 with an OperationOutcome and a DPoP challenge
// (RFC 9449 section 7.1), with the current nonce when one is needed.
func (m *Middleware) refuseDPoP(st *requestState, status int, code, diagnostics string) {
	st.dpop = true
	m.refuseChallenge(st, status, "login", diagnostics, code)
}

// dpopChallenge is a "DPoP" WWW-Authenticate value: realm, error and its
// description when given, the scope that would have been enough, and the
// proof algorithms accepted.
func (m *Middleware) dpopChallenge(code, description, scope string) string {
	var b strings.Builder
	writeChallenge(&b, "DPoP", m.cfg.realm, code, description, scope)
	b.WriteString(", algs=")
	writeQuoted(&b, m.cfg.dpop.checker.Algorithms())
	return b.String()
}

// addDPoPChallenge adds the DPoP scheme to the challenges of a 401 answer
// to a request that did not use it, so that clients learn it is accepted
// (RFC 9449 section 7.2).
func (m *Middleware) addDPoPChallenge(h http.Header, status int) {
	if m.cfg.dpop != nil && status == http.StatusUnauthorized {
		h.Add("WWW-Authenticate", m.dpopChallenge("", "", ""))
		if n := m.cfg.dpop.checker.Nonce(); n != "" {
			h.Set("DPoP-Nonce", n)
		}
	}
}

// WithMTLSBinding accepts bearer tokens bound to a TLS client certificate
// (RFC 8705, cnf x5t#S256) when the request came over a TLS connection
// with that certificate; the server must terminate TLS itself and ask for
// client certificates (tls.Config.ClientAuth). Unbound tokens are accepted
// as before, DPoP-bound ones only with WithDPoP's scheme. The
// Authenticator given to New must be a token.BoundAuthenticator.
func WithMTLSBinding() Option {
	return func(c *config) error {
		c.mtls = true
		return nil
	}
}

// authenticateMTLS authenticates a bearer token under WithMTLSBinding.
func (m *Middleware) authenticateMTLS(r *http.Request, raw string) (*token.Principal, error) {
	b, ok := m.auth.(token.BoundAuthenticator)
	if !ok { // New checked this; fail closed all the same
		return nil, errors.New("middleware: WithMTLSBinding without a token.BoundAuthenticator")
	}
	return token.AuthenticateMTLS(r.Context(), b, raw, r.TLS)
}
