package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/token"
)

// authenticateBearer authenticates a request with a bearer token (in the
// Authorization header, or a form body when allowed), or answers it and
// returns nil.
func (m *Middleware) authenticateBearer(st *requestState, r *http.Request) *token.Principal {
	raw, prob := bearerFromHeader(r.Header, m.maxHeader, m.syntaxChecked)
	if prob == bearerMissing && isFormPost(r) {
		raw, prob = m.formToken(r)
		if m.refusedBody(st) {
			return nil
		}
	}
	if prob != bearerOK {
		m.refuseBearer(st, prob)
		return nil
	}
	var p *token.Principal
	var err error
	if m.cfg.mtls {
		p, err = m.authenticateMTLS(r, raw)
	} else {
		p, err = m.auth.Authenticate(r.Context(), raw)
		if err == nil && p != nil && p.Confirmation.Bound() {
			// The Authenticator is the caller's and may break the rule
			// that Authenticate never returns a bound Principal (a cache
			// serving AuthenticateBound's answers): the Bearer scheme
			// carries no proof of possession, so a bound token stops here.
			p, err = nil, errBoundAsBearer
		}
	}
	if err != nil || p == nil {
		m.refuseToken(st, err, raw)
		return nil
	}
	return p
}

// BearerToken returns the token of h's one "Authorization: Bearer"
// header as a Middleware with the default token size reads it (RFC 6750
// section 2.1: the scheme in any letter case, one or more spaces, a
// b64token of at most token.DefaultMaxTokenSize bytes), and false for
// anything else. A handler beside the middleware that verifies a token
// itself (a download link, an explanation page) uses it to take exactly
// the tokens the middleware takes: one that reads the header another way
// and decides by who called can be gone around with a header that the
// middleware accepts and it does not. Tokens in a form body
// (WithFormBodyTokens) are not read.
func BearerToken(h http.Header) (string, bool) {
	raw, prob := bearerFromHeader(h, token.DefaultMaxTokenSize+len("Bearer "), false)
	return raw, prob == bearerOK
}

// errBoundAsBearer refuses a sender-constrained token presented with the
// Bearer scheme, whatever Authenticator admitted it.
var errBoundAsBearer = fmt.Errorf("%w: token is bound to a key (cnf claim) and needs a proof of possession, not the Bearer scheme", token.ErrSenderConstrained)

// bearerProblem says why no usable bearer token could be taken from a
// request. The zero value means a token was found.
type bearerProblem uint8

const (
	bearerOK        bearerProblem = iota
	bearerMissing                 // no credentials at all, or another scheme: 401 without error code
	bearerMultiple                // more than one Authorization header: 400 invalid_request
	bearerTooLarge                // header longer than the limit: 401 invalid_token
	bearerEmpty                   // "Bearer" with no token: 401 invalid_token
	bearerMalformed               // token outside RFC 6750's b64token syntax: 401 invalid_token
	bearerInQuery                 // access_token in the query string: 400 invalid_request
	bearerInForm                  // access_token in a form body without opt-in: 400 invalid_request
)

// description is the error_description (and OperationOutcome diagnostics)
// of a bearer problem. None of them contains any part of the token.
func (p bearerProblem) description() string {
	switch p {
	case bearerMissing:
		return "no bearer access token: send one in the Authorization header (Authorization: Bearer <token>)"
	case bearerMultiple:
		return "more than one Authorization header"
	case bearerTooLarge:
		return "the Authorization header is too large"
	case bearerEmpty:
		return "the Authorization header names the Bearer scheme but carries no token"
	case bearerMalformed:
		return "the bearer token contains characters not allowed by RFC 6750 (b64token)"
	case bearerInQuery:
		return "access tokens in the query string are not accepted (RFC 6750 section 5.3); use the Authorization header"
	case bearerInForm:
		return "access tokens in the request body are not accepted; use the Authorization header"
	}
	return ""
}

// bearerFromHeader extracts the token of an "Authorization: Bearer <token>"
// header per RFC 6750 section 2.1 and RFC 9110 section 11.4: exactly one
// header, scheme compared case-insensitively, one or more spaces before
// the token, the token in b64token syntax. The header is size-checked
// before anything else looks at it. It does not allocate.
//
// With syntaxChecked (an Authenticator of package token, which refuses
// anything outside b64token itself) the byte-by-byte b64token scan is left
// to the Authenticator, and only whitespace (a second token) is refused
// here.
func bearerFromHeader(h http.Header, maxHeader int, syntaxChecked bool) (string, bearerProblem) {
	vals := h["Authorization"]
	switch len(vals) {
	case 0:
		return "", bearerMissing
	case 1:
	default:
		return "", bearerMultiple
	}
	v := vals[0]
	if len(v) > maxHeader {
		return "", bearerTooLarge
	}
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", bearerMissing // another scheme (or nothing): not a bearer attempt
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		if rest[0] == '\t' {
			// RFC 9110 separates scheme and credentials with SP only.
			return "", bearerMalformed
		}
		return "", bearerMissing // e.g. "BearerXYZ" or "Bearers": another scheme
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok := rest[i:]
	if tok == "" {
		return "", bearerEmpty
	}
	if syntaxChecked {
		if strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0 {
			return "", bearerMalformed
		}
		return tok, bearerOK
	}
	if !isB64Token(tok) {
		return "", bearerMalformed
	}
	return tok, bearerOK
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	// Branch-free: AND the class of every byte, four at a time.
	var a, b, c, d byte = 1, 1, 1, 1
	i := 0
	for ; i+4 <= n; i += 4 {
		a &= b64tokenChar[s[i]]
		b &= b64tokenChar[s[i+1]]
		c &= b64tokenChar[s[i+2]]
		d &= b64tokenChar[s[i+3]]
	}
	for ; i < n; i++ {
		a &= b64tokenChar[s[i]]
	}
	return a&b&c&d == 1
}

// b64tokenChar marks the characters of a b64token before its padding.
var b64tokenChar = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = 1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for _, c := range "-._~+/" {
		t[c] = 1
	}
	return t
}()

// hasAccessTokenParam reports whether a raw query (or form body) has an
// access_token parameter, however its name is percent-encoded. It does not
// allocate unless a parameter name is escaped.
func hasAccessTokenParam(raw string) bool {
	if !strings.Contains(raw, "_token") && strings.IndexByte(raw, '%') < 0 {
		return false // the name cannot be there, plainly or escaped
	}
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		name, _, _ := strings.Cut(part, "=")
		if name == "access_token" {
			return true
		}
		if strings.ContainsAny(name, "%+") {
			if n, err := url.QueryUnescape(name); err == nil && n == "access_token" {
				return true
			}
		}
	}
	return false
}

// isFormPost reports whether r carries an application/x-www-form-urlencoded
// body (the only body RFC 6750 section 2.2 allows a token in).
func isFormPost(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}
