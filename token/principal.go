package token

import (
	"context"
	"strings"
	"time"
	"unsafe"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
	"github.com/fhirwarden/fhirwarden/scope"
)

// Principal is a verified caller: who called, through which client, with
// which scopes and launch context, as vouched for by which issuer.
//
// A Principal returned by an Authenticator is shared: the token caches hand
// the same *Principal to every request that presents the same token. Treat
// it, including Audience, as read-only.
type Principal struct {
	Subject   string    // sub
	ClientID  string    // client_id, falling back to azp
	Issuer    string    // iss
	Audience  []string  // aud
	Scopes    scope.Set // parsed scope / scp
	Patient   string    // launch context: patient id ("" if none)
	Encounter string    // launch context: encounter id
	FHIRUser  string    // fhirUser claim (e.g. "Practitioner/123")
	TokenID   string    // jti
	IssuedAt  time.Time // iat (zero if absent)
	NotBefore time.Time // nbf (zero if absent)
	ExpiresAt time.Time // exp (zero only for introspection answers without exp)

	// Confirmation is the key the token is bound to (cnf claim); only
	// BoundAuthenticator.AuthenticateBound returns bound Principals.
	Confirmation Confirmation

	// claims is the claim set as verified, decoded only when asked for
	// (Claims, Claim): a JSON object (an introspection answer, SetClaims),
	// or a JWT's payload segment, base64url as it is in the token, which
	// the token cache keeps anyway. base64url has neither '{' nor JSON
	// white space, so the first byte tells the two apart (a JSON text is
	// kept from its '{').
	claims string
	// ownBytes is the size of the strings only this Principal holds (see
	// ownStrings), for the token cache's estimate of its memory.
	ownBytes int
}

// Claims decodes every claim of the token, as encoding/json would decode
// them into a map[string]any (objects as map[string]any, arrays as []any,
// numbers as float64), from the very bytes that were verified. It decodes
// anew on each call, so the map is the caller's; a Principal keeps only the
// claims' text, not a decoded copy. The decoding is as strict as the
// verification's (duplicate or case-variant member names are refused), and
// cannot fail for a Principal returned by this package's Authenticators;
// an error wraps ErrMalformed. A Principal built without claims (neither by
// an Authenticator nor with SetClaims) has none: an empty map.
func (p *Principal) Claims() (map[string]any, error) {
	if p.claims == "" {
		return map[string]any{}, nil
	}
	js := p.claims
	if js[0] != '{' {
		b, err := b64.DecodeString(js)
		if err != nil {
			return nil, failWrap(ErrMalformed, err, "claims")
		}
		js = string(b)
	}
	m, err := decodeJSONObject(js)
	if err != nil {
		return nil, failWrap(ErrMalformed, err, "claims")
	}
	return m, nil
}

// Claim returns the claim named name (exactly, case-sensitive) as Claims
// decodes it, and whether the token has it. It decodes all claims: to read
// several, call Claims once.
func (p *Principal) Claim(name string) (any, bool) {
	m, err := p.Claims()
	if err != nil {
		return nil, false // unreachable for a verified Principal: no claim is vouched for
	}
	v, ok := m[name]
	return v, ok
}

// SetClaims gives a Principal built outside this package (by a custom
// Authenticator, a tool or a test) the claim set Claims and Claim return:
// claimsJSON, a JSON object, checked as strictly as a token's claims
// (errors wrap ErrMalformed). It does not change the other fields.
func (p *Principal) SetClaims(claimsJSON []byte) error {
	js := string(claimsJSON)
	if _, err := decodeJSONObject(js); err != nil {
		return failWrap(ErrMalformed, err, "claims")
	}
	p.claims = js[jsonsyntax.SkipSpace(js, 0):]
	return nil
}

// ownStrings copies the Principal's per-token strings into one allocation
// of their own. Until then they are slices of the decoded claim set (the
// JSON decoder does not copy), which a cached Principal would otherwise
// keep alive whole: ~800 bytes for a typical SMART access token instead of
// the ~130 of its sub, jti, client_id and launch context. Strings shared
// between tokens (the configured issuer and audiences) are not copied.
func (p *Principal) ownStrings(audienceShared bool) {
	fields := [...]*string{&p.Subject, &p.ClientID, &p.Patient, &p.Encounter, &p.FHIRUser, &p.TokenID,
		&p.Confirmation.JKT, &p.Confirmation.X5TS256}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	if !audienceShared {
		for _, a := range p.Audience {
			n += len(a)
		}
	}
	p.ownBytes = n
	if !audienceShared {
		p.ownBytes += len(p.Audience) * int(unsafe.Sizeof(""))
	}
	var b strings.Builder
	b.Grow(n)
	take := func(s *string) {
		start := b.Len()
		b.WriteString(*s)
		*s = b.String()[start:]
	}
	for _, f := range fields {
		take(f)
	}
	if !audienceShared {
		for i := range p.Audience { // a list of its own (audienceList)
			take(&p.Audience[i])
		}
	}
}

// Authenticator turns a raw bearer token (without the "Bearer " prefix) into
// a Principal. Every error it returns wraps exactly one of the package's
// sentinel errors (ErrMalformed, ErrSignature, ...), and its text never
// contains the token.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string) (*Principal, error)
}
