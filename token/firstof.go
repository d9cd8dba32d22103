package token

import (
	"context"
	"errors"
)

// FirstOf composes Authenticators: each is tried in order, and the next one
// is asked only when the previous one reports that the token is not in its
// format at all (an error wrapping ErrNotJWT, e.g. an opaque token given to a
// Verifier, and no other sentinel: a refusal whose cause is a not-a-JWT
// error met along the way, such as a RevocationChecker's, is a refusal).
// Any other answer, success or failure, is final.
//
// The typical use is FirstOf(verifier, introspector): JWTs are verified
// locally, opaque tokens are introspected. A JWT that fails verification
// (bad signature, expired, wrong audience, unknown key, JWKS unreachable,
// or a malformed header such as a duplicate "alg": a token whose header is
// a JSON object is a JWT, see ErrNotJWT) is never handed on: the second
// Authenticator would get a chance to accept what the first rejected for
// a security reason, the policy would become as weak as the most lenient
// of the two, and every forged token would cost a round-trip to the
// authorization server.
//
// FirstOf panics if given no Authenticator or a nil one (a programming error).
func FirstOf(auths ...Authenticator) Authenticator {
	if len(auths) == 0 {
		panic("token.FirstOf: no Authenticator")
	}
	for _, a := range auths {
		if a == nil {
			panic("token.FirstOf: nil Authenticator")
		}
	}
	return firstOf(append([]Authenticator(nil), auths...))
}

type firstOf []Authenticator

// Authenticate implements Authenticator.
func (f firstOf) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	var err error
	for _, a := range f {
		var p *Principal
		p, err = a.Authenticate(ctx, raw)
		if err == nil || !notInFormat(err) {
			return p, err
		}
	}
	return nil, err
}

// notInFormat reports whether err says only that the token is not in the
// answering Authenticator's format: it wraps ErrNotJWT, the outermost
// error of this package in it is that refusal, and it wraps no sentinel
// of a token refused for a reason of its own. A refusal that merely
// carries a not-a-JWT error as its cause (a RevocationChecker's, when the
// revocation status is unknown) is final, as the refusal itself is.
func notInFormat(err error) bool {
	if !errors.Is(err, ErrNotJWT) {
		return false
	}
	var te *tokenError
	if errors.As(err, &te) && te.sentinel != ErrNotJWT {
		return false
	}
	for _, s := range finalSentinels {
		if errors.Is(err, s) {
			return false
		}
	}
	return true
}

// finalSentinels are the sentinels of a token refused for what it is or
// for what could not be checked; none of them is ever handed on.
var finalSentinels = [...]error{
	ErrSignature, ErrUnknownKey, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience,
	ErrAlgorithm, ErrInactive, ErrScope, ErrClient, ErrIssuerUnavailable, ErrSenderConstrained,
	ErrDPoPProof, ErrDPoPNonce, ErrReplayUnavailable,
}
