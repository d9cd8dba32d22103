package token

import (
	"context"
	"fmt"
)

// ErrSenderConstrained refines ErrMalformed: the token is bound to a key
// (a "cnf" claim, RFC 9449 DPoP or RFC 8705 mTLS) and was presented without
// the proof of possession that binding requires, or the binding is not one
// this package can check. Errors wrapping it also satisfy
// errors.Is(err, ErrMalformed).
var ErrSenderConstrained = fmt.Errorf("%w (sender-constrained token)", ErrMalformed)

// Confirmation is a token's "cnf" claim (RFC 7800): the key the token is
// bound to. The zero value means an unbound bearer token.
type Confirmation struct {
	// JKT is the RFC 7638 SHA-256 thumbprint (base64url) of the DPoP key
	// (RFC 9449 section 6).
	JKT string
	// X5TS256 is the SHA-256 thumbprint (base64url) of the client's TLS
	// certificate (RFC 8705 section 3.1, "x5t#S256").
	X5TS256 string
}

// Bound reports whether the token is sender-constrained.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5TS256 != "" }

// BoundAuthenticator is an Authenticator that can also return Principals
// of sender-constrained tokens, with their Confirmation set, for a caller
// that checks the proof of possession itself (DPoPChecker.Authenticate).
// Authenticate refuses such tokens (ErrSenderConstrained); AuthenticateBound
// accepts them and leaves the proof to its caller, so it must never be
// used on its own to admit a request.
//
// Verifier, Introspector and FirstOf of them are BoundAuthenticators.
type BoundAuthenticator interface {
	Authenticator
	AuthenticateBound(ctx context.Context, raw string) (*Principal, error)
}

// refuseBound turns the answer of a bound-aware authentication into the
// answer for a bearer token: a Principal bound to a key is refused.
func refuseBound(p *Principal, err error) (*Principal, error) {
	if err != nil {
		return nil, err
	}
	if p.Confirmation.Bound() {
		return nil, fail(ErrSenderConstrained, "token is bound to a key (cnf claim) and needs a proof of possession (DPoP), not the Bearer scheme")
	}
	return p, nil
}

// AuthenticateBound is Authenticate without the refusal of
// sender-constrained tokens (see BoundAuthenticator).
func (v *Verifier) AuthenticateBound(ctx context.Context, raw string) (*Principal, error) {
	return v.authenticate(ctx, raw)
}

// AuthenticateBound is Authenticate without the refusal of
// sender-constrained tokens (see BoundAuthenticator).
func (in *Introspector) AuthenticateBound(ctx context.Context, raw string) (*Principal, error) {
	return in.authenticate(ctx, raw)
}

// AuthenticateBound asks each Authenticator in turn, as Authenticate does,
// through its AuthenticateBound. An Authenticator that is not a
// BoundAuthenticator is asked through Authenticate, so it can admit only
// unbound tokens.
func (f firstOf) AuthenticateBound(ctx context.Context, raw string) (*Principal, error) {
	var err error
	for _, a := range f {
		var p *Principal
		if b, ok := a.(BoundAuthenticator); ok {
			p, err = b.AuthenticateBound(ctx, raw)
		} else {
			p, err = a.Authenticate(ctx, raw)
		}
		if err == nil || !notInFormat(err) {
			return p, err
		}
	}
	return nil, err
}

// confirmation reads the "cnf" claim. Only the members this package can
// check are accepted: a cnf with anything else (a jwk, a kid, an unknown
// method) is refused, since accepting it would ignore a binding.
func confirmation(claims map[string]any) (Confirmation, error) {
	var c Confirmation
	v, present := claims["cnf"]
	if !present {
		return c, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return c, fail(ErrSenderConstrained, "cnf claim is not a non-empty object")
	}
	for name, val := range m {
		s, ok := val.(string)
		if !ok || len(s) != 43 || !isBase64URL(s) {
			return c, fail(ErrSenderConstrained, "cnf member %s is not a base64url SHA-256 thumbprint", quoteShort(name))
		}
		switch name {
		case "jkt":
			c.JKT = s
		case "x5t#S256":
			c.X5TS256 = s
		default:
			return c, fail(ErrSenderConstrained, "cnf member %s is not supported (only jkt and x5t#S256)", quoteShort(name))
		}
	}
	if c.JKT != "" && c.X5TS256 != "" {
		// One proof would satisfy one binding and silently skip the other.
		return Confirmation{}, fail(ErrSenderConstrained, "cnf binds the token to both a DPoP key and a certificate")
	}
	return c, nil
}

// isBase64URL reports whether s holds only the base64url alphabet.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
