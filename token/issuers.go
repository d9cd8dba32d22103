package token

import (
	"context"
	"errors"
	"fmt"
)

// Issuers is an Authenticator that trusts several issuers (a staff
// identity provider and a patient portal's; the old and the new provider
// during a migration), each through its own Verifier with its own key set,
// algorithms, audiences and claim mapping.
//
// A token's "iss", read from its still unverified claims, only selects the
// Verifier; that Verifier then checks everything, iss included, as if it
// were alone. A token whose iss is not exactly one of the trusted issuers
// (letter case and a trailing slash matter) is refused with ErrIssuer
// before any key is looked up, so it never causes a request to anyone.
// Duplicate claim names are refused by the JSON decoder, so the iss that
// selects is the iss that is verified.
//
// It is safe for concurrent use; Close closes every Verifier.
type Issuers struct {
	byIssuer map[string]*Verifier
	list     []*Verifier
	maxSize  int
}

// NewIssuers trusts the issuers of verifiers, which must be distinct.
func NewIssuers(verifiers ...*Verifier) (*Issuers, error) {
	if len(verifiers) == 0 {
		return nil, fmt.Errorf("%w: NewIssuers: no Verifier", ErrConfig)
	}
	is := &Issuers{byIssuer: make(map[string]*Verifier, len(verifiers))}
	var errs []error
	for _, v := range verifiers {
		if v == nil {
			return nil, fmt.Errorf("%w: NewIssuers: nil Verifier", ErrConfig)
		}
		iss := v.rules.issuer
		if _, dup := is.byIssuer[iss]; dup {
			errs = append(errs, fmt.Errorf("issuer %q is given twice", iss))
			continue
		}
		is.byIssuer[iss] = v
		is.list = append(is.list, v)
		is.maxSize = max(is.maxSize, v.maxSize)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: NewIssuers: %w", ErrConfig, err)
	}
	return is, nil
}

// Authenticate verifies raw with the Verifier of its issuer. Like
// Verifier.Authenticate, it refuses sender-constrained tokens.
func (is *Issuers) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	return refuseBound(is.authenticate(ctx, raw))
}

// AuthenticateBound is Authenticate without the refusal of
// sender-constrained tokens (see BoundAuthenticator).
func (is *Issuers) AuthenticateBound(ctx context.Context, raw string) (*Principal, error) {
	return is.authenticate(ctx, raw)
}

// authenticate is Authenticate, sender-constrained tokens included.
func (is *Issuers) authenticate(ctx context.Context, raw string) (*Principal, error) {
	// A token verified before is found in its Verifier's cache without
	// decoding anything: one map lookup per issuer.
	for _, v := range is.list {
		if p := v.fromCache(raw, v.now()); p != nil {
			return v.afterVerify(ctx, raw, p)
		}
	}
	if err := checkLength(raw, is.maxSize); err != nil {
		return nil, err
	}
	jws, err := splitCompact(raw)
	if err != nil {
		return nil, err
	}
	v, err := is.selectVerifier(jws)
	if err != nil {
		return nil, err
	}
	if err := checkLength(raw, v.maxSize); err != nil {
		v.rejected.add()
		return nil, err
	}
	return v.authenticateSplit(ctx, raw, jws, v.now())
}

// selectVerifier picks the Verifier named by the token's unverified iss
// claim. The claims stay decoded in jws for that Verifier's checks.
func (is *Issuers) selectVerifier(jws *compactJWS) (*Verifier, error) {
	claims, err := jws.decodeClaims()
	if err != nil {
		return nil, err
	}
	iss, ok := claims["iss"].(string)
	if !ok {
		return nil, fail(ErrIssuer, "iss claim missing or not a string")
	}
	v := is.byIssuer[iss]
	if v == nil {
		// The value is the token's: it is not echoed.
		return nil, fail(ErrIssuer, "iss claim is none of the %d trusted issuers", len(is.list))
	}
	return v, nil
}

// Verifier returns the Verifier of issuer (exact match), or nil.
func (is *Issuers) Verifier(issuer string) *Verifier { return is.byIssuer[issuer] }

// List returns the trusted issuers, in the order given to NewIssuers.
func (is *Issuers) List() []string {
	out := make([]string, len(is.list))
	for i, v := range is.list {
		out[i] = v.rules.issuer
	}
	return out
}

// Close closes every Verifier.
func (is *Issuers) Close() error {
	for _, v := range is.list {
		_ = v.Close()
	}
	return nil
}
