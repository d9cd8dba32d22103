package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ClaimMapping says where an identity provider puts what a Principal holds:
// the SMART scopes, the client id and the launch context. It is data, not
// code: the named profiles (Profile) are ClaimMappings, and a deployment
// whose provider does something else writes its own, in Go or as JSON
// (ParseClaimMapping). The zero ClaimMapping is the SMART profile; empty
// fields of a partly filled one take the SMART profile's values.
//
// A mapping never widens what a token grants: claims it does not name are
// never read (a "roles" claim is ignored unless ScopeClaims lists it), and
// a named claim of a JSON type the mapping does not allow, or a scope name
// its ScopeNames rule does not produce, rejects the token (ErrScope or
// ErrMalformed) instead of being skipped.
type ClaimMapping struct {
	// Name identifies the mapping in errors and logs ("smart", "entra", ...).
	Name string `json:"name,omitempty"`
	// ScopeClaims are the claims holding the scopes, in order of
	// preference: the first one present in a token is read and the others
	// are ignored (an Entra ID token carries delegated scopes in "scp" and
	// app-only permissions in "roles"). Default: "scope", "scp".
	ScopeClaims []string `json:"scope_claims,omitempty"`
	// AppOnlyScopeClaims are those of ScopeClaims read only from an
	// app-only token: one a client obtained for itself (client
	// credentials), not for a signed-in user. A token is app-only when its
	// "idtyp" claim is "app", or, without "idtyp", when its "oid" claim is
	// not empty and equal to its "sub" (Microsoft Entra ID's rule). When
	// the first present scope claim is one of them and the token is not
	// app-only, the token is refused (ErrScope), in lenient mode too:
	// Entra ID also puts the app roles assigned to a user in "roles" of
	// that user's tokens, which no client consent limits. Under a mapping
	// with AppOnlyScopeClaims, "idtyp", "oid" or "sub" present with a
	// JSON type other than string (null included) refuses any token
	// (ErrMalformed). Default: none.
	AppOnlyScopeClaims []string `json:"app_only_scope_claims,omitempty"`
	// ScopeFormat is the JSON shape the scope claims may have. Default:
	// ScopeStringOrArray.
	ScopeFormat ScopeFormat `json:"scope_format,omitempty"`
	// ScopeNames is how the provider's scope names become SMART scopes.
	// Default: ScopeNamesSMART (as they are).
	ScopeNames ScopeNames `json:"scope_names,omitempty"`
	// ClientIDClaims are the claims holding the client id, in order of
	// preference (the first present one is used). Default: "client_id", "azp".
	ClientIDClaims []string `json:"client_id_claims,omitempty"`
	// PatientClaim, EncounterClaim and FHIRUserClaim hold the launch
	// context. Defaults: "patient", "encounter", "fhirUser".
	PatientClaim   string `json:"patient_claim,omitempty"`
	EncounterClaim string `json:"encounter_claim,omitempty"`
	FHIRUserClaim  string `json:"fhir_user_claim,omitempty"`
}

// ScopeFormat is the JSON shape of a scope claim.
type ScopeFormat string

// Scope claim shapes.
const (
	// ScopeString is one space-separated string (RFC 8693 4.2, RFC 9068).
	ScopeString ScopeFormat = "string"
	// ScopeArray is an array of strings, one scope each.
	ScopeArray ScopeFormat = "array"
	// ScopeStringOrArray accepts either shape.
	ScopeStringOrArray ScopeFormat = "string_or_array"
)

// ScopeNames is a rule turning a provider's scope names into SMART scopes.
type ScopeNames string

// Scope naming rules.
const (
	// ScopeNamesSMART takes scope names as they are.
	ScopeNamesSMART ScopeNames = "smart"
	// ScopeNamesDotted is for providers whose scope names cannot contain
	// "/" (Microsoft Entra ID): the SMART name is written with "." after
	// the context, the convention of Microsoft's SMART on FHIR proxy for
	// Azure Health Data Services. "patient.Observation.rs" is
	// patient/Observation.rs, "user.all.read" is user/*.read ("all" stands
	// for "*", which such names avoid too), "launch.patient" is
	// launch/patient; a context in another letter case is kept in that
	// case and then refused by the scope grammar. Other names ("openid",
	// "user_impersonation") are kept as they are. A name that already
	// contains "/" is refused: this rule never produces one, so it was not
	// issued under the rule. Names are separated by single spaces only, as
	// SMART scopes are: a name with a tab or other white space in it is
	// malformed, not two names.
	ScopeNamesDotted ScopeNames = "dotted"
)

// The named profiles, each built from its vendor's public documentation of
// its access tokens.
var (
	// SMARTClaims is the SMART App Launch profile (the default): "scope"
	// (or "scp"), "client_id" (or "azp"), "patient", "encounter",
	// "fhirUser".
	// https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
	// https://www.rfc-editor.org/rfc/rfc9068#section-2.2
	SMARTClaims = ClaimMapping{
		Name:           "smart",
		ScopeClaims:    []string{"scope", "scp"},
		ScopeFormat:    ScopeStringOrArray,
		ScopeNames:     ScopeNamesSMART,
		ClientIDClaims: []string{"client_id", "azp"},
		PatientClaim:   "patient",
		EncounterClaim: "encounter",
		FHIRUserClaim:  "fhirUser",
	}
	// EntraClaims is Microsoft Entra ID, v1.0 and v2.0 access tokens:
	// delegated permissions in "scp" (a space-separated string), app-only
	// permissions (client credentials) in "roles" (an array), read only
	// when "scp" is absent and only from an app-only token (idtyp "app",
	// or without idtyp, oid equal to sub; see AppOnlyScopeClaims); the
	// client in "azp" (v2.0) or "appid" (v1.0). Scope and app role names
	// use ScopeNamesDotted.
	// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
	// https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference
	EntraClaims = ClaimMapping{
		Name:               "entra",
		ScopeClaims:        []string{"scp", "roles"},
		AppOnlyScopeClaims: []string{"roles"},
		ScopeFormat:        ScopeStringOrArray,
		ScopeNames:         ScopeNamesDotted,
		ClientIDClaims:     []string{"azp", "appid"},
		PatientClaim:       "patient",
		EncounterClaim:     "encounter",
		FHIRUserClaim:      "fhirUser",
	}
	// OktaClaims is Okta (custom authorization servers): "scp" as an array,
	// the client in "cid".
	// https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/#access-token-payload
	OktaClaims = ClaimMapping{
		Name:           "okta",
		ScopeClaims:    []string{"scp"},
		ScopeFormat:    ScopeArray,
		ScopeNames:     ScopeNamesSMART,
		ClientIDClaims: []string{"cid"},
		PatientClaim:   "patient",
		EncounterClaim: "encounter",
		FHIRUserClaim:  "fhirUser",
	}
	// KeycloakClaims is Keycloak: "scope" as a space-separated string, the
	// client in "azp" ("client_id" in client credentials tokens of recent
	// versions).
	// https://www.keycloak.org/docs/latest/server_admin/index.html#_oidc_token_and_userinfo_endpoints
	KeycloakClaims = ClaimMapping{
		Name:           "keycloak",
		ScopeClaims:    []string{"scope"},
		ScopeFormat:    ScopeString,
		ScopeNames:     ScopeNamesSMART,
		ClientIDClaims: []string{"azp", "client_id"},
		PatientClaim:   "patient",
		EncounterClaim: "encounter",
		FHIRUserClaim:  "fhirUser",
	}
	// Auth0Claims is Auth0: "scope" as a space-separated string (or an
	// array); the client in "azp". "permissions" is never read: with
	// RBAC's "Add Permissions in the Access Token" it holds every
	// permission assigned to the user, whatever the client asked for or
	// was granted, while "scope" holds what the client requested and was
	// granted (with RBAC, only the requested permissions the user has).
	// https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles
	// https://auth0.com/docs/manage-users/access-control/enable-role-based-access-control-for-apis
	Auth0Claims = ClaimMapping{
		Name:           "auth0",
		ScopeClaims:    []string{"scope"},
		ScopeFormat:    ScopeStringOrArray,
		ScopeNames:     ScopeNamesSMART,
		ClientIDClaims: []string{"azp"},
		PatientClaim:   "patient",
		EncounterClaim: "encounter",
		FHIRUserClaim:  "fhirUser",
	}
	// PingClaims is PingFederate (JSON token management, where "scope" is
	// an array) and PingOne (a string); the client in "client_id".
	// https://docs.pingidentity.com/pingfederate/latest/administrators_reference_guide/pf_json_web_tokens_management.html
	// https://apidocs.pingidentity.com/pingone/platform/v1/api/#access-tokens-and-id-tokens
	PingClaims = ClaimMapping{
		Name:           "ping",
		ScopeClaims:    []string{"scope"},
		ScopeFormat:    ScopeStringOrArray,
		ScopeNames:     ScopeNamesSMART,
		ClientIDClaims: []string{"client_id"},
		PatientClaim:   "patient",
		EncounterClaim: "encounter",
		FHIRUserClaim:  "fhirUser",
	}
)

// Profile returns the named claim mapping: smart, entra, okta, keycloak,
// auth0 or ping.
func Profile(name string) (ClaimMapping, bool) {
	for _, m := range [...]ClaimMapping{SMARTClaims, EntraClaims, OktaClaims, KeycloakClaims, Auth0Claims, PingClaims} {
		if m.Name == name {
			return m.clone(), true
		}
	}
	return ClaimMapping{}, false
}

// ProfileNames lists the names Profile knows.
func ProfileNames() []string {
	return []string{"smart", "entra", "okta", "keycloak", "auth0", "ping"}
}

// ParseClaimMapping reads a ClaimMapping from JSON (the field names of its
// struct tags). Unknown members and duplicate members are errors, so that
// a misspelt field cannot silently fall back to a default.
func ParseClaimMapping(data []byte) (ClaimMapping, error) {
	if _, err := decodeJSONObject(string(data)); err != nil {
		return ClaimMapping{}, fmt.Errorf("%w: claim mapping: %w", ErrConfig, err)
	}
	var m ClaimMapping
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return ClaimMapping{}, fmt.Errorf("%w: claim mapping: %w", ErrConfig, err)
	}
	m = m.withDefaults()
	if err := m.validate(); err != nil {
		return ClaimMapping{}, fmt.Errorf("%w: claim mapping: %w", ErrConfig, err)
	}
	return m, nil
}

func (m ClaimMapping) clone() ClaimMapping {
	m.ScopeClaims = slices.Clone(m.ScopeClaims)
	m.AppOnlyScopeClaims = slices.Clone(m.AppOnlyScopeClaims)
	m.ClientIDClaims = slices.Clone(m.ClientIDClaims)
	return m
}

// withDefaults fills empty fields from the SMART profile.
func (m ClaimMapping) withDefaults() ClaimMapping {
	m = m.clone()
	d := SMARTClaims
	if m.Name == "" {
		m.Name = "custom"
		if len(m.ScopeClaims) == 0 && len(m.AppOnlyScopeClaims) == 0 && len(m.ClientIDClaims) == 0 && m.ScopeFormat == "" && m.ScopeNames == "" {
			m.Name = d.Name
		}
	}
	if len(m.ScopeClaims) == 0 {
		m.ScopeClaims = slices.Clone(d.ScopeClaims)
	}
	if m.ScopeFormat == "" {
		m.ScopeFormat = d.ScopeFormat
	}
	if m.ScopeNames == "" {
		m.ScopeNames = d.ScopeNames
	}
	if len(m.ClientIDClaims) == 0 {
		m.ClientIDClaims = slices.Clone(d.ClientIDClaims)
	}
	for _, f := range [...]struct {
		dst *string
		def string
	}{
		{&m.PatientClaim, d.PatientClaim}, {&m.EncounterClaim, d.EncounterClaim}, {&m.FHIRUserClaim, d.FHIRUserClaim},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return m
}

func (m *ClaimMapping) validate() error {
	var errs []error
	switch m.ScopeFormat {
	case ScopeString, ScopeArray, ScopeStringOrArray:
	default:
		errs = append(errs, fmt.Errorf("scope_format %q is not %q, %q or %q", m.ScopeFormat, ScopeString, ScopeArray, ScopeStringOrArray))
	}
	switch m.ScopeNames {
	case ScopeNamesSMART, ScopeNamesDotted:
	default:
		errs = append(errs, fmt.Errorf("scope_names %q is not %q or %q", m.ScopeNames, ScopeNamesSMART, ScopeNamesDotted))
	}
	for _, c := range slices.Concat(m.ScopeClaims, m.AppOnlyScopeClaims, m.ClientIDClaims) {
		if c == "" {
			errs = append(errs, errors.New("empty claim name"))
		}
	}
	for _, c := range m.AppOnlyScopeClaims {
		if c != "" && !slices.Contains(m.ScopeClaims, c) {
			errs = append(errs, fmt.Errorf("app_only_scope_claims %q is not one of scope_claims", c))
		}
	}
	return errors.Join(errs...)
}

// rename applies the ScopeNames rule to a scope claim, token by token.
//
// The claim is split on single spaces only, as scope.ParseSet splits it
// (RFC 6749 section 3.3), and joined back with single spaces, so the
// renamed claim has exactly the tokens of the original: an empty token
// (a leading, trailing or doubled space) stays empty and a token holding
// a byte that is not a scope-token character (tab, NUL, U+00A0, ...)
// keeps it, and scope.ParseSet refuses both, as it does without the rule.
// Splitting on other white space here would turn one scope-token the
// issuer signed into two scopes the Principal grants.
func (n ScopeNames) rename(claim string) (string, error) {
	if n != ScopeNamesDotted || claim == "" {
		return claim, nil
	}
	var b strings.Builder
	b.Grow(len(claim))
	first := true
	for name := range strings.SplitSeq(claim, " ") {
		if !first {
			b.WriteByte(' ')
		}
		first = false
		if strings.IndexByte(name, '/') >= 0 {
			return "", fmt.Errorf("scope name %s contains '/', which dotted scope names never do", quoteShort(name))
		}
		b.WriteString(dottedToSMART(name))
	}
	return b.String(), nil
}

// dottedToSMART turns one dotted scope name into its SMART spelling (see
// ScopeNamesDotted). It only writes "/" for the first "." and "*" for
// "all", so a name with a byte scope.Parse refuses keeps that byte and is
// still refused after renaming.
func dottedToSMART(name string) string {
	ctx, rest, ok := strings.Cut(name, ".")
	if !ok {
		return name
	}
	for _, c := range [...]string{"patient", "user", "system", "launch"} {
		if !strings.EqualFold(ctx, c) {
			continue
		}
		if c != "launch" {
			if typ, perm, ok := strings.Cut(rest, "."); ok && typ == "all" {
				rest = "*." + perm
			}
		}
		return ctx + "/" + rest
	}
	return name
}
