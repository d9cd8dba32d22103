package authserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Client authentication methods, as named in discovery documents.
const (
	AuthSecretBasic = "client_secret_basic"
	AuthSecretPost  = "client_secret_post"
	AuthPrivateKey  = "private_key_jwt"
)

// ClientAssertionType is the client_assertion_type of private_key_jwt.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// errClientAuthFailed is the uniform answer for an unknown client or a wrong
// secret, so the response does not tell which of the two it was.
const errClientAuthFailed = "client authentication failed"

// authenticateClient authenticates the client of a token, introspection or
// revocation request with exactly one method: HTTP Basic, client_secret in
// the body, or a private_key_jwt assertion.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (*registeredClient, string, *oauthError) {
	authz := r.Header.Values("Authorization")
	_, hasPostSecret := form["client_secret"]
	_, hasAssertion := form["client_assertion"]
	_, hasAssertionType := form["client_assertion_type"]
	methods := 0
	for _, has := range []bool{len(authz) > 0, hasPostSecret, hasAssertion || hasAssertionType} {
		if has {
			methods++
		}
	}
	switch {
	case len(authz) > 1:
		return nil, "", errInvalidRequest("more than one Authorization header")
	case methods > 1:
		return nil, "", errInvalidRequest("more than one client authentication method in one request")
	case methods == 0:
		return nil, "", errInvalidClient("client authentication required (HTTP Basic, client_secret_post or private_key_jwt)", true)
	case len(authz) == 1:
		c, err := s.authenticateBasic(authz[0], form.Get("client_id"))
		return c, AuthSecretBasic, err
	case hasPostSecret:
		c, err := s.checkSecret(form.Get("client_id"), form.Get("client_secret"), false)
		return c, AuthSecretPost, err
	default:
		if form.Get("client_assertion_type") != ClientAssertionType {
			return nil, "", errInvalidClient("client_assertion_type must be "+ClientAssertionType, false)
		}
		c, err := s.verifyAssertion(form.Get("client_assertion"), form.Get("client_id"))
		return c, AuthPrivateKey, err
	}
}

// authenticateBasic checks an "Authorization: Basic" header. The id and
// secret are form-urlencoded before base64 (RFC 6749 section 2.3.1).
func (s *Server) authenticateBasic(header, formClientID string) (*registeredClient, *oauthError) {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return nil, errInvalidClient("Authorization header must use the Basic scheme", true)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return nil, errInvalidClient("malformed Basic credentials", true)
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, errInvalidClient("malformed Basic credentials", true)
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil {
		return nil, errInvalidClient("malformed Basic credentials", true)
	}
	if formClientID != "" && formClientID != id {
		return nil, errInvalidRequest("client_id in the body differs from the Basic credentials")
	}
	return s.checkSecret(id, secret, true)
}

// checkSecret looks the client up and compares secrets in constant time
// (over SHA-256 digests, so the length does not leak either).
func (s *Server) checkSecret(id, secret string, basic bool) (*registeredClient, *oauthError) {
	if id == "" {
		return nil, errInvalidClient("client_id is required", basic)
	}
	c := s.client(id)
	got := sha256.Sum256([]byte(secret))
	var want [sha256.Size]byte
	if c != nil {
		want = c.secretHash
	}
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	if c == nil || c.Secret == "" || secret == "" || !match {
		s.log.Info("authserver: client authentication failed", "client_id", id, "known", c != nil, "method", map[bool]string{true: AuthSecretBasic, false: AuthSecretPost}[basic])
		return nil, errInvalidClient(errClientAuthFailed, basic)
	}
	return c, nil
}
