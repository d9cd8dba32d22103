package middleware

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/token"
)

// fhirJSON is the media type of every body the middleware writes.
const fhirJSON = "application/fhir+json"

// refuse answers the request itself with an OperationOutcome (issue code,
// diagnostics); a 401 also gets an RFC 6750 challenge without an error
// code.
func (m *Middleware) refuse(st *requestState, status int, issueCode, diagnostics string) {
	m.refuseChallenge(st, status, issueCode, diagnostics, "")
}

// refuseChallenge is refuse with an RFC 6750 challenge carrying authErr
// (invalid_request, invalid_token, insufficient_scope) and the
// diagnostics as its error_description.
func (m *Middleware) refuseChallenge(st *requestState, status int, issueCode, diagnostics, authErr string) {
	st.dropHandlerHeaders()
	m.writeOutcome(&st.rec, status, fhirauth.OperationOutcome(m.version, issueCode, diagnostics),
		authChallenge{err: authErr, description: authDescription(authErr, diagnostics), dpop: st.dpop})
	st.denied = true
	st.reason = diagnostics
}

// dropHandlerHeaders removes the headers a checked handler wrote into the
// response's own header map (buffer.shared) before the middleware answers
// in the handler's place: none of them may go with a refusal (an ETag or
// a Location would tell a withheld resource from a missing one).
func (st *requestState) dropHandlerHeaders() {
	if b := st.buf; b != nil && b.shared {
		clear(b.header)
		b.shared = false
	}
}

// authChallenge is what a refusal's WWW-Authenticate says: an RFC 6750
// (or, for a request made with the DPoP scheme, RFC 9449) error code, its
// description, and the scope that would have been enough.
type authChallenge struct {
	err, description, scope string
	dpop                    bool // the request used the DPoP scheme: answer in it
}

// writeOutcome writes a complete error response: headers, status, body.
func (m *Middleware) writeOutcome(w http.ResponseWriter, status int, body []byte, ch authChallenge) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch {
	case ch.dpop && (status == http.StatusUnauthorized || ch.err != ""):
		h.Set("WWW-Authenticate", m.dpopChallenge(ch.err, ch.description, ch.scope))
		if n := m.cfg.dpop.checker.Nonce(); n != "" {
			h.Set("DPoP-Nonce", n)
		}
	case status == http.StatusUnauthorized || ch.err != "":
		h.Set("WWW-Authenticate", challenge(m.cfg.realm, ch.err, ch.description, ch.scope))
		m.addDPoPChallenge(h, status)
	}
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", m.retryAfter)
	}
	if m.renderRefusal(w, Refusal{Status: status, Outcome: body, AuthError: ch.err}) {
		return
	}
	h.Set("Content-Type", fhirJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// authDescription is the error_description of a challenge: the
// diagnostics, shortened to one reasonable header line.
func authDescription(authErr, diagnostics string) string {
	if authErr == "" {
		return ""
	}
	const max = 200
	if len(diagnostics) > max {
		return diagnostics[:max] + "..."
	}
	return diagnostics
}

// refuseBearer answers a request whose bearer token could not be
// extracted.
func (m *Middleware) refuseBearer(st *requestState, p bearerProblem) {
	switch p {
	case bearerMissing:
		// RFC 6750 section 3.1: no error code when no credentials were sent.
		m.refuse(st, http.StatusUnauthorized, "login", p.description())
	case bearerMultiple, bearerInQuery, bearerInForm:
		m.refuseChallenge(st, http.StatusBadRequest, "invalid", p.description(), errInvalidRequest)
	default:
		m.refuseChallenge(st, http.StatusUnauthorized, "login", p.description(), errInvalidToken)
	}
}

// refuseToken answers a request whose token the Authenticator rejected:
// 503 with Retry-After when the issuer's infrastructure failed, else 401
// invalid_token. The error text is the token package's (which never
// contains the token); it is scrubbed of raw all the same.
func (m *Middleware) refuseToken(st *requestState, err error, raw string) {
	if err != nil && errors.Is(err, token.ErrIssuerUnavailable) {
		m.refuse(st, http.StatusServiceUnavailable, "transient",
			"the access token cannot be checked now: the token issuer is unavailable; try again later")
		return
	}
	diag := tokenDescription(err)
	if err != nil {
		diag += " (" + scrub(err.Error(), raw) + ")"
	}
	m.refuseChallenge(st, http.StatusUnauthorized, "login", diag, errInvalidToken)
}

// tokenDescription says in words what was wrong with a token.
func tokenDescription(err error) string {
	switch {
	case err == nil:
		return "the access token was not accepted"
	case errors.Is(err, token.ErrExpired):
		return "the access token has expired"
	case errors.Is(err, token.ErrNotYetValid):
		return "the access token is not valid yet"
	case errors.Is(err, token.ErrSignature), errors.Is(err, token.ErrUnknownKey), errors.Is(err, token.ErrAlgorithm):
		return "the access token's signature cannot be verified"
	case errors.Is(err, token.ErrIssuer):
		return "the access token comes from an issuer this server does not trust"
	case errors.Is(err, token.ErrAudience):
		return "the access token is not meant for this server (audience)"
	case errors.Is(err, token.ErrInactive):
		return "the access token is not active"
	case errors.Is(err, token.ErrScope):
		return "the access token's scope claim is invalid"
	case errors.Is(err, token.ErrClient):
		return "the access token belongs to a client this server does not accept"
	case errors.Is(err, token.ErrMalformed):
		return "the access token is malformed"
	}
	return "the access token is invalid"
}

// scrub removes the raw token from s, should it ever appear there.
func scrub(s, raw string) string {
	if raw == "" || !strings.Contains(s, raw) {
		return s
	}
	return strings.ReplaceAll(s, raw, "[redacted]")
}

// refuseDecision answers a request the policy denied, with the decision's
// status, reason and (for 403) the scopes that would have been enough.
func (m *Middleware) refuseDecision(st *requestState, d *fhirauth.Decision) {
	status := d.Status
	if status < 400 {
		status = http.StatusForbidden // a denial must never look like success
	}
	var authErr, scope string
	switch status {
	case http.StatusUnauthorized:
		authErr = errInvalidToken
	case http.StatusForbidden:
		authErr, scope = errInsufficientScope, d.Needed
	case http.StatusBadRequest:
		authErr = errInvalidRequest
	}
	m.writeOutcome(&st.rec, status, d.OperationOutcome(),
		authChallenge{err: authErr, description: authDescription(authErr, d.Reason), scope: scope, dpop: st.dpop})
	st.denied = true
	st.reason = d.Reason
}
