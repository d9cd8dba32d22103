package token

import (
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/scope"
)

// maxNumericDate is 9999-12-31T23:59:59Z; larger or negative NumericDates are malformed.
const maxNumericDate = 253402300799

// claimRules turns a decoded claim set (JWT claims or an introspection
// answer) into a Principal, checking issuer, audience and validity times.
type claimRules struct {
	issuer    string
	audiences []string // aud must contain one of them
	mapping   ClaimMapping
	// maxLifetime, when positive, bounds exp - iat (exp - now without iat).
	maxLifetime time.Duration
	leeway      time.Duration
	lenient     bool
	log         *slog.Logger
	memo        *scopeMemo
	// optional: iss, aud and exp are checked only when present
	// (introspection answers, RFC 7662 2.2). Otherwise they are required.
	optional bool
	// audienceRequired: with optional, aud is required all the same
	// (introspection answers, unless WithAnswersWithoutAudience).
	audienceRequired bool
	// clients are the allowed client ids (WithAllowedClients); nil: any.
	clients map[string]struct{}
}

// principal builds the Principal of the claim set claims, decoded from
// text (see Principal.claims). Errors name the claim, never its value
// unless the value is configuration-shaped (issuer, audience).
func (r *claimRules) principal(claims map[string]any, text string, now time.Time) (*Principal, error) {
	p := &Principal{claims: text}
	if err := r.binding(p, claims); err != nil {
		return nil, err
	}
	if err := r.checkIssuer(p, claims); err != nil {
		return nil, err
	}
	audienceShared, err := r.audience(p, claims)
	if err != nil {
		return nil, err
	}
	if err := r.validity(p, claims, now); err != nil {
		return nil, err
	}
	if err := r.stringClaims(p, claims); err != nil {
		return nil, err
	}
	// The list is fixed when the Verifier or Introspector is built, and
	// a Principal is cached only once built here: a cached Principal
	// passed this check, so a cache hit need not make it again.
	if err := r.checkClient(p); err != nil {
		return nil, err
	}
	set, err := r.scopes(claims)
	if err != nil {
		return nil, err
	}
	p.Scopes = set
	p.ownStrings(audienceShared)
	return p, nil
}

// binding sets p.Confirmation. A sender-constrained token (RFC 8705 mTLS,
// RFC 9449 DPoP) is only as safe as the proof of possession checked with
// it: its binding is kept in the Principal, and only a caller that checks
// the proof accepts it (see refuseBound). An introspection answer must
// also be for an access token (those for refresh tokens can be active
// too).
func (r *claimRules) binding(p *Principal, claims map[string]any) error {
	conf, err := confirmation(claims)
	if err != nil {
		return err
	}
	p.Confirmation = conf
	tt, present := claims["token_type"]
	if !present || !r.optional {
		return nil
	}
	s, _ := tt.(string)
	switch strings.ToLower(s) {
	case "bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token":
	case "dpop": // RFC 9449 section 6.2, only with the key it is bound to
		if conf.JKT == "" {
			return fail(ErrInactive, "introspected token_type DPoP without cnf.jkt")
		}
	default:
		return fail(ErrInactive, "introspected token_type %s is not a bearer access token", quoteShort(s))
	}
	return nil
}

// checkIssuer checks iss (an exact match) and sets p.Issuer.
func (r *claimRules) checkIssuer(p *Principal, claims map[string]any) error {
	iss, present := claims["iss"]
	if !present {
		if !r.optional {
			return fail(ErrIssuer, "iss claim missing")
		}
		return nil
	}
	s, ok := iss.(string)
	if !ok {
		return fail(ErrIssuer, "iss claim is not a string")
	}
	if s != r.issuer {
		return fail(ErrIssuer, "iss claim is not the configured issuer %q", r.issuer)
	}
	p.Issuer = r.issuer // shared by every Principal of this issuer
	return nil
}

// validity checks exp, nbf and iat against now, with one leeway, and the
// token's lifetime, and sets p's times.
func (r *claimRules) validity(p *Principal, claims map[string]any, now time.Time) error {
	exp, hasExp, err := numericDate(claims, "exp")
	if err != nil {
		return err
	}
	if !hasExp && !r.optional {
		return fail(ErrMalformed, "exp claim missing (required)")
	}
	if hasExp {
		if !now.Before(exp.Add(r.leeway)) {
			return fail(ErrExpired, "token expired %s ago", now.Sub(exp).Truncate(time.Second))
		}
		p.ExpiresAt = exp
	}
	nbf, hasNbf, err := numericDate(claims, "nbf")
	if err != nil {
		return err
	}
	if hasNbf {
		if now.Add(r.leeway).Before(nbf) {
			return fail(ErrNotYetValid, "nbf is %s in the future", nbf.Sub(now).Truncate(time.Second))
		}
		p.NotBefore = nbf
	}
	iat, hasIat, err := numericDate(claims, "iat")
	if err != nil {
		return err
	}
	if hasIat {
		if now.Add(r.leeway).Before(iat) {
			return fail(ErrNotYetValid, "iat is %s in the future", iat.Sub(now).Truncate(time.Second))
		}
		p.IssuedAt = iat
	}
	return r.checkLifetime(exp, hasExp, iat, hasIat, now)
}

// stringClaims sets p's plain string claims: sub, jti, the launch
// context and the client, under the names of the claim mapping.
func (r *claimRules) stringClaims(p *Principal, claims map[string]any) error {
	m := r.claimMapping()
	for _, f := range [...]struct {
		name string
		dst  *string
	}{
		{"sub", &p.Subject}, {"jti", &p.TokenID},
		{m.PatientClaim, &p.Patient}, {m.EncounterClaim, &p.Encounter}, {m.FHIRUserClaim, &p.FHIRUser},
	} {
		if err := stringClaim(claims, f.name, f.dst); err != nil {
			return err
		}
	}
	for _, name := range m.ClientIDClaims {
		if err := stringClaim(claims, name, &p.ClientID); err != nil {
			return err
		}
		if p.ClientID != "" {
			break
		}
	}
	return nil
}

// checkClient refuses a Principal whose client id is not exactly one of
// the allowed clients, when there is a list.
func (r *claimRules) checkClient(p *Principal) error {
	if r.clients == nil {
		return nil
	}
	if p.ClientID == "" {
		return fail(ErrClient, "token names no client (%s), and only the %d allowed clients are accepted",
			strings.Join(r.claimMapping().ClientIDClaims, ", "), len(r.clients))
	}
	if _, ok := r.clients[p.ClientID]; !ok {
		return fail(ErrClient, "client %s is not one of the %d allowed clients", quoteShort(p.ClientID), len(r.clients))
	}
	return nil
}

// audience checks aud, a string or an array of strings that must contain an
// accepted audience, and sets p.Audience: the configured audiences (or one
// of them) when aud is exactly that, shared by every Principal (shared is
// then true), or else a list of its own.
func (r *claimRules) audience(p *Principal, claims map[string]any) (shared bool, err error) {
	aud, present := claims["aud"]
	switch {
	case present:
	case !r.optional:
		return false, fail(ErrAudience, "aud claim missing")
	case r.audienceRequired:
		return false, fail(ErrAudience, "introspection answer named no audience (no aud member), so it may be for a token meant for another resource server")
	default:
		return false, nil
	}
	list, err := audienceList(aud)
	if err != nil {
		return false, err
	}
	if !r.acceptsAudience(list) {
		if len(r.audiences) == 1 {
			return false, fail(ErrAudience, "aud claim does not contain the configured audience %q", r.audiences[0])
		}
		return false, fail(ErrAudience, "aud claim contains none of the %d accepted audiences", len(r.audiences))
	}
	switch k := slices.Index(r.audiences, list[0]); {
	case slices.Equal(list, r.audiences):
		p.Audience = r.audiences[:len(r.audiences):len(r.audiences)]
	case len(list) == 1 && k >= 0:
		p.Audience = r.audiences[k : k+1 : k+1]
	default:
		p.Audience = list
		return false, nil
	}
	return true, nil
}

// scopes parses the first of the mapping's scope claims present in the
// token, in the shapes the mapping allows, renamed by its ScopeNames rule.
func (r *claimRules) scopes(claims map[string]any) (scope.Set, error) {
	m := r.claimMapping()
	claim, err := scopeClaim(m, claims)
	if err != nil {
		return scope.Set{}, err
	}
	if set, ok := r.memo.get(claim); ok {
		return set, nil
	}
	// A slice of the decoded claim set: the memo and the parsed Set keep
	// only a copy of the claim, not the whole claim set.
	claim = strings.Clone(claim)
	smart, err := m.ScopeNames.rename(claim)
	if err != nil {
		return scope.Set{}, failWrap(ErrScope, err, "%s scope names rejected", m.Name)
	}
	if r.lenient {
		set, bad := scope.ParseSetLenient(smart)
		for _, e := range bad {
			r.log.Debug("token: invalid scope ignored (lenient mode)", "error", e.Error())
		}
		r.memo.put(claim, set)
		return set, nil
	}
	set, err := scope.ParseSet(smart)
	if err != nil {
		return scope.Set{}, failWrap(ErrScope, err, "scope claim rejected (strict mode)")
	}
	r.memo.put(claim, set)
	return set, nil
}

// scopeClaim reads the first of m's scope claims present in claims as one
// space-separated string ("" when none is present). One of m's
// AppOnlyScopeClaims is read only from an app-only token: in any other
// token it refuses the token, rather than being skipped for a later claim.
func scopeClaim(m *ClaimMapping, claims map[string]any) (string, error) {
	appOnly, why := true, ""
	if len(m.AppOnlyScopeClaims) > 0 {
		var err error
		if appOnly, why, err = appOnlyToken(claims); err != nil {
			return "", err
		}
	}
	for _, name := range m.ScopeClaims {
		v, present := claims[name]
		if !present {
			continue
		}
		if !appOnly && slices.Contains(m.AppOnlyScopeClaims, name) {
			return "", fail(ErrScope, "%s claim is read only from app-only tokens under the %s profile, and %s", name, m.Name, why)
		}
		return scopeClaimString(name, v, m.ScopeFormat)
	}
	return "", nil
}

// appOnlyToken tells an app-only token (a client's own, from the client
// credentials grant) from one obtained for a user, by Microsoft Entra ID's
// rule: "idtyp" is "app"; without "idtyp", "oid" is not empty and equals
// "sub", both compared exactly. All three claims are read first: one
// present with a JSON type other than string (null included) refuses the
// token, since the rule cannot be applied to a claim it cannot read. why
// says what makes a token not app-only.
func appOnlyToken(claims map[string]any) (appOnly bool, why string, err error) {
	var v [3]string
	var has [3]bool
	for i, name := range [...]string{"idtyp", "oid", "sub"} {
		x, present := claims[name]
		if !present {
			continue
		}
		s, ok := x.(string)
		if !ok {
			return false, "", fail(ErrMalformed, "%s claim is not a string", name)
		}
		v[i], has[i] = s, true
	}
	idtyp, oid, sub := v[0], v[1], v[2]
	switch {
	case has[0] && idtyp == "app":
		return true, "", nil
	case has[0]:
		return false, `this token's idtyp claim is not "app"`, nil
	case oid != "" && oid == sub:
		return true, "", nil
	}
	return false, "this token has no idtyp claim and no oid claim equal to its sub", nil
}

// scopeClaimString reads scope claim name as one space-separated string,
// refusing the JSON shapes format does not allow.
//
// An array is joined with single spaces, and scope.ParseSet splits the
// result on them again: an element that is empty or holds a space would
// not come back as the one element it was, so it refuses the token (in
// lenient mode too). Every other byte is left to scope.Parse, which
// refuses what is not an RFC 6749 scope-token character in any element as
// in a string claim.
func scopeClaimString(name string, v any, format ScopeFormat) (string, error) {
	switch v := v.(type) {
	case string:
		if format == ScopeArray {
			return "", fail(ErrScope, "%s claim is a string; this issuer's profile expects an array of strings", name)
		}
		return v, nil
	case []any:
		if format == ScopeString {
			return "", fail(ErrScope, "%s claim is an array; this issuer's profile expects a space-separated string", name)
		}
		parts := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok || s == "" || strings.IndexByte(s, ' ') >= 0 {
				return "", fail(ErrScope, "%s claim element %d is not a single scope string", name, i)
			}
			parts[i] = s
		}
		return strings.Join(parts, " "), nil
	}
	return "", fail(ErrScope, "%s claim is neither a string nor an array of strings", name)
}

// claimMapping is the configured mapping; rules built without one use the
// SMART profile.
func (r *claimRules) claimMapping() *ClaimMapping {
	if r.mapping.Name == "" {
		return &SMARTClaims
	}
	return &r.mapping
}

// acceptsAudience reports whether list contains an accepted audience.
func (r *claimRules) acceptsAudience(list []string) bool {
	for _, a := range list {
		for _, want := range r.audiences {
			if a == want {
				return true
			}
		}
	}
	return false
}

// checkLifetime bounds how long a token may be valid (WithMaxTokenLifetime):
// exp - iat, or exp - now for a token without iat.
func (r *claimRules) checkLifetime(exp time.Time, hasExp bool, iat time.Time, hasIat bool, now time.Time) error {
	if r.maxLifetime <= 0 || !hasExp {
		return nil
	}
	from, what := now, "exp - now"
	if hasIat {
		from, what = iat, "exp - iat"
	}
	if life := exp.Sub(from); life > r.maxLifetime {
		return fail(ErrMalformed, "token lifetime (%s) of %s exceeds the maximum %s", what, life.Truncate(time.Second), r.maxLifetime)
	}
	return nil
}

// audienceList reads aud as a list.
func audienceList(aud any) ([]string, error) {
	switch a := aud.(type) {
	case string:
		return []string{a}, nil
	case []any:
		list := make([]string, len(a))
		for i, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fail(ErrAudience, "aud claim element %d is not a string", i)
			}
			list[i] = s
		}
		return list, nil
	}
	return nil, fail(ErrAudience, "aud claim is neither a string nor an array of strings")
}

// numericDate reads a NumericDate claim (RFC 7519 2: seconds since the
// epoch, possibly fractional).
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	v := claims[name]
	if v == nil { // absent or null
		return time.Time{}, false, nil
	}
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false, fail(ErrMalformed, "%s claim is not a NumericDate", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// stringClaim copies a string claim into dst; a present non-string is malformed.
func stringClaim(claims map[string]any, name string, dst *string) error {
	v := claims[name]
	if v == nil { // absent or null
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fail(ErrMalformed, "%s claim is not a string", name)
	}
	*dst = s
	return nil
}
