package token

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by an Authenticator wraps exactly one
// of them; branch with errors.Is. All of them mean "answer 401" except
// ErrIssuerUnavailable (an infrastructure failure: answer 503) and ErrScope
// (the token's scope claim is invalid: 401 as well, since the token as a whole
// is rejected).
var (
	// ErrMalformed: the token is not a well-formed JWS/JWT, is too large, or a
	// claim or header has the wrong shape (including a missing exp claim, an
	// unsupported "crit" header, or a lifetime beyond WithMaxTokenLifetime).
	ErrMalformed = errors.New("token: malformed")
	// ErrSignature: the signature does not verify with the selected key.
	ErrSignature = errors.New("token: bad signature")
	// ErrUnknownKey: no key in the issuer's key set has the token's kid, even
	// after a (rate-limited) refetch of the key set.
	ErrUnknownKey = errors.New("token: unknown signing key")
	// ErrExpired: exp is in the past (beyond the clock leeway).
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid: nbf or iat is in the future (beyond the clock leeway).
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrIssuer: iss is missing or not the configured issuer (for Issuers:
	// none of the trusted issuers).
	ErrIssuer = errors.New("token: wrong issuer")
	// ErrAudience: aud is missing or does not contain the configured audience.
	ErrAudience = errors.New("token: wrong audience")
	// ErrAlgorithm: the alg header is not on the allow-list, or does not fit
	// the type of the selected key.
	ErrAlgorithm = errors.New("token: algorithm not allowed")
	// ErrInactive: the introspection endpoint says the token is not active,
	// or a RevocationChecker says it was revoked.
	ErrInactive = errors.New("token: inactive")
	// ErrScope: the scope claim does not parse (strict mode).
	ErrScope = errors.New("token: invalid scope claim")
	// ErrClient: the token names no client, or one that is not exactly one
	// of those given to WithAllowedClients.
	ErrClient = errors.New("token: client not allowed")
	// ErrIssuerUnavailable: the issuer's key set or introspection endpoint
	// could not be reached and no usable cached answer exists. Callers answer
	// 503, not 401.
	ErrIssuerUnavailable = errors.New("token: issuer unreachable") // infrastructure failure: callers answer 503
)

// ErrNotJWT refines ErrMalformed: the raw token is not a JWS in compact
// serialization at all (not three parts, or a first part that is not the
// base64url encoding of something starting with a JSON object's '{'), so
// it may be an opaque token meant for introspection. A token whose header
// is a JSON object but is otherwise bad (no "alg" string, a duplicate
// member, a number out of range, invalid UTF-8) is a malformed JWS:
// ErrMalformed without ErrNotJWT. Errors wrapping ErrNotJWT also satisfy
// errors.Is(err, ErrMalformed). FirstOf hands such tokens to the next
// Authenticator.
var ErrNotJWT = fmt.Errorf("%w (not a JWT)", ErrMalformed)

// Errors of configuration and discovery (returned by constructors and
// Discover*, never by Authenticate).
var (
	// ErrConfig: a constructor was given an invalid or incomplete configuration.
	ErrConfig = errors.New("token: invalid configuration")
	// ErrDiscovery: a discovery document is invalid (not JSON, issuer
	// mismatch, missing or unsafe endpoint URL).
	ErrDiscovery = errors.New("token: invalid discovery document")
)

// fail builds an error wrapping sentinel. The message must never contain the
// token or parts of it; callers pass only names, sizes and configured values.
func fail(sentinel error, format string, args ...any) error {
	return &tokenError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// failWrap is fail with an additional cause (e.g. a network error) kept for
// errors.Is/As. The cause must not contain the token either.
func failWrap(sentinel, cause error, format string, args ...any) error {
	return &tokenError{sentinel: sentinel, cause: cause, msg: fmt.Sprintf(format, args...)}
}

// tokenError is the concrete error type: a sentinel, a reason, and maybe a cause.
type tokenError struct {
	sentinel error
	cause    error
	msg      string
}

func (e *tokenError) Error() string {
	if e.cause != nil {
		return e.sentinel.Error() + ": " + e.msg + ": " + e.cause.Error()
	}
	return e.sentinel.Error() + ": " + e.msg
}

func (e *tokenError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.sentinel, e.cause}
	}
	return []error{e.sentinel}
}
