package scope

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sections of the specifications the test cases come from.
const (
	refV1Syntax   = "SMART 1.0.0, Scopes and Launch Context: Clinical Scope Syntax"
	refV1Wildcard = "SMART 1.0.0, Scopes and Launch Context: Wildcard scopes"
	refV2Syntax   = "SMART 2.x, Scopes and Launch Context: Scopes for requesting FHIR resources (scope syntax)"
	refV2Compat   = "SMART 2.x, Scopes and Launch Context: v1 scopes and their v2 equivalents (read=rs, write=cud, *=cruds)"
	refV2Wildcard = "SMART 2.x, Scopes and Launch Context: Wildcard scopes"
	refV2Finer    = "SMART 2.x, Scopes and Launch Context: Finer-grained resource constraints using search parameters"
	refContext    = "SMART 2.x, Scopes and Launch Context: Scopes for requesting context data"
	refIdentity   = "SMART 2.x, Scopes and Launch Context: Scopes for requesting identity data"
	refRefresh    = "SMART 2.x, Scopes and Launch Context: Scopes for requesting a refresh token"
	refExtension  = "SMART 2.x, Scopes and Launch Context: Extensions (other scopes)"
	refSystem     = "SMART Backend Services / Bulk Data: system/ scopes"
	refRFC6749    = "RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )"
	refFailClosed = "fhirwarden: malformed resource scopes fail closed"
)

type parseCase struct {
	in     string
	ref    string
	ctx    Context
	typ    string
	perm   Permission
	cons   []Constraint
	syntax Syntax
	err    string // non-empty: must fail, and the reason must contain this
}

var parseCases = []parseCase{
	// v1 resource scopes.
	{in: "patient/Observation.read", ref: refV1Syntax, ctx: Patient, typ: "Observation", perm: V1Read, syntax: SyntaxV1},
	{in: "patient/Observation.write", ref: refV1Syntax, ctx: Patient, typ: "Observation", perm: V1Write, syntax: SyntaxV1},
	{in: "patient/Observation.*", ref: refV1Syntax, ctx: Patient, typ: "Observation", perm: All, syntax: SyntaxV1},
	{in: "user/Patient.read", ref: refV1Syntax, ctx: User, typ: "Patient", perm: Read | Search, syntax: SyntaxV1},
	{in: "user/*.*", ref: refV1Wildcard, ctx: User, typ: "*", perm: All, syntax: SyntaxV1},
	{in: "patient/*.read", ref: refV1Wildcard, ctx: Patient, typ: "*", perm: V1Read, syntax: SyntaxV1},
	{in: "user/*.write", ref: refV1Wildcard, ctx: User, typ: "*", perm: V1Write, syntax: SyntaxV1},
	{in: "system/*.read", ref: refSystem, ctx: System, typ: "*", perm: V1Read, syntax: SyntaxV1},
	{in: "system/Patient.*", ref: refSystem, ctx: System, typ: "Patient", perm: All, syntax: SyntaxV1},
	{in: "user/MedicationRequest.write", ref: refV1Syntax, ctx: User, typ: "MedicationRequest", perm: Create | Update | Delete, syntax: SyntaxV1},

	// v2 letters.
	{in: "patient/Observation.rs", ref: refV2Syntax, ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2},
	{in: "patient/Observation.r", ref: refV2Syntax, ctx: Patient, typ: "Observation", perm: Read, syntax: SyntaxV2},
	{in: "patient/Observation.s", ref: refV2Syntax, ctx: Patient, typ: "Observation", perm: Search, syntax: SyntaxV2},
	{in: "patient/Observation.c", ref: refV2Syntax, ctx: Patient, typ: "Observation", perm: Create, syntax: SyntaxV2},
	{in: "user/Encounter.u", ref: refV2Syntax, ctx: User, typ: "Encounter", perm: Update, syntax: SyntaxV2},
	{in: "user/Encounter.d", ref: refV2Syntax, ctx: User, typ: "Encounter", perm: Delete, syntax: SyntaxV2},
	{in: "user/*.cruds", ref: refV2Wildcard, ctx: User, typ: "*", perm: All, syntax: SyntaxV2},
	{in: "patient/*.rs", ref: refV2Wildcard, ctx: Patient, typ: "*", perm: Read | Search, syntax: SyntaxV2},
	{in: "user/Appointment.cud", ref: refV2Compat, ctx: User, typ: "Appointment", perm: V1Write, syntax: SyntaxV2},
	{in: "user/Appointment.crds", ref: refV2Syntax, ctx: User, typ: "Appointment", perm: Create | Read | Delete | Search, syntax: SyntaxV2},
	{in: "system/Group.rs", ref: refSystem, ctx: System, typ: "Group", perm: Read | Search, syntax: SyntaxV2},
	{in: "system/*.s", ref: refSystem, ctx: System, typ: "*", perm: Search, syntax: SyntaxV2},
	{in: "user/Observation.cs", ref: refV2Syntax, ctx: User, typ: "Observation", perm: Create | Search, syntax: SyntaxV2},
	{in: "user/Observation.ud", ref: refV2Syntax, ctx: User, typ: "Observation", perm: Update | Delete, syntax: SyntaxV2},
	{in: "patient/Binary2.r", ref: refV2Syntax, ctx: Patient, typ: "Binary2", perm: Read, syntax: SyntaxV2},

	// v2 constraints.
	{in: "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", ref: refV2Finer,
		ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2,
		cons: []Constraint{{"category", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}}},
	{in: "patient/Observation.rs?category=vital-signs", ref: refV2Finer,
		ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2, cons: []Constraint{{"category", "vital-signs"}}},
	{in: "user/Observation.rs?category=laboratory&status=final", ref: refV2Finer,
		ctx: User, typ: "Observation", perm: Read | Search, syntax: SyntaxV2,
		cons: []Constraint{{"category", "laboratory"}, {"status", "final"}}},
	{in: "patient/Condition.rs?category=http://hl7.org/fhir/us/core/CodeSystem/condition-category%7Chealth-concern", ref: refV2Finer,
		ctx: Patient, typ: "Condition", perm: Read | Search, syntax: SyntaxV2,
		cons: []Constraint{{"category", "http://hl7.org/fhir/us/core/CodeSystem/condition-category%7Chealth-concern"}}},
	{in: "patient/Observation.rs?_security=R", ref: refV2Finer,
		ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2, cons: []Constraint{{"_security", "R"}}},
	{in: "patient/Observation.rs?code:in=http://example.org/fhir/ValueSet/labs", ref: refV2Finer,
		ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2, cons: []Constraint{{"code:in", "http://example.org/fhir/ValueSet/labs"}}},
	{in: "patient/*.rs?_tag=a,b", ref: refV2Finer,
		ctx: Patient, typ: "*", perm: Read | Search, syntax: SyntaxV2, cons: []Constraint{{"_tag", "a,b"}}},
	{in: "user/Observation.r?a=b&a=b", ref: refV2Finer,
		ctx: User, typ: "Observation", perm: Read, syntax: SyntaxV2, cons: []Constraint{{"a", "b"}, {"a", "b"}}},
	{in: "patient/Observation.rs?date=ge2020-01-01", ref: refV2Finer,
		ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2, cons: []Constraint{{"date", "ge2020-01-01"}}},
	{in: "patient/Observation.rs?value=a%3Db", ref: refV2Finer,
		ctx: Patient, typ: "Observation", perm: Read | Search, syntax: SyntaxV2, cons: []Constraint{{"value", "a%3Db"}}},

	// Non-resource scopes.
	{in: "openid", ref: refIdentity},
	{in: "fhirUser", ref: refIdentity},
	{in: "profile", ref: refIdentity},
	{in: "launch", ref: refContext},
	{in: "launch/patient", ref: refContext},
	{in: "launch/encounter", ref: refContext},
	{in: "launch/Location", ref: refContext},
	{in: "offline_access", ref: refRefresh},
	{in: "online_access", ref: refRefresh},
	{in: "smart/orchestrate_launch", ref: refExtension},
	{in: "https://example.org/scope/admin", ref: refExtension},
	{in: "patient", ref: refExtension},
	{in: "com.example.feature", ref: refExtension},
	{in: "Observation", ref: refExtension},
	{in: "Observation.", ref: refExtension},
	{in: "*.rsx", ref: refExtension},
	{in: "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~", ref: refRFC6749},

	// Invalid: v2 letters.
	{in: "patient/Observation.sr", ref: refV2Syntax, err: "order c r u d s"},
	{in: "patient/Observation.rr", ref: refV2Syntax, err: "appears twice"},
	{in: "patient/Observation.rsr", ref: refV2Syntax, err: "appears twice"},
	{in: "patient/Observation.x", ref: refV2Syntax, err: "unknown permission letter 'x'"},
	{in: "patient/Observation.rsx", ref: refV2Syntax, err: "unknown permission letter 'x'"},
	{in: "patient/Observation.RS", ref: refV2Syntax, err: "unknown permission letter 'R'"},
	{in: "patient/Observation.Read", ref: refV2Syntax, err: "lower case"},
	{in: "patient/Observation.", ref: refV2Syntax, err: "empty permissions"},
	{in: "patient/Observation", ref: refV2Syntax, err: "missing '.'"},
	{in: "patient/Observation.scrud", ref: refV2Syntax, err: "order c r u d s"},
	{in: "patient/Observation.r.s", ref: refV2Syntax, err: "unknown permission letter '.'"},
	{in: "patient/Observation.**", ref: refV2Syntax, err: "unknown permission letter '*'"},
	{in: "patient/Observation.reads", ref: refV2Syntax, err: "unknown permission letter 'e'"},

	// Invalid: context and type.
	{in: "*.*", ref: refV1Wildcard, err: "without a context"},
	{in: "*.read", ref: refV1Wildcard, err: "without a context"},
	{in: "Observation.read", ref: refV1Syntax, err: "without a context"},
	{in: "Observation.rs?category=x", ref: refV2Syntax, err: "without a context"},
	{in: "Patient/Observation.read", ref: refV1Syntax, err: "case-sensitive"},
	{in: "USER/*.*", ref: refV1Syntax, err: "case-sensitive"},
	{in: "System/*.rs", ref: refSystem, err: "case-sensitive"},
	{in: "patient/.read", ref: refV1Syntax, err: "empty resource type"},
	{in: "patient/", ref: refV1Syntax, err: "missing '.'"},
	{in: "patient/1Observation.read", ref: refV1Syntax, err: "not \"*\" or a FHIR resource type name"},
	{in: "patient/Obs-ervation.read", ref: refV1Syntax, err: "FHIR resource type name"},
	{in: "patient/Observation/123.read", ref: refFailClosed, err: "FHIR resource type name"},
	{in: "patient/*x.read", ref: refV1Wildcard, err: "FHIR resource type name"},
	{in: "patient/../Observation.read", ref: refFailClosed, err: "empty resource type"},
	{in: "patient/%2E%2E/Observation.read", ref: refFailClosed, err: "FHIR resource type name"},
	{in: "launch/", ref: refContext, err: "must name a launch context"},
	{in: "practitioner/Observation.rs", ref: refFailClosed, err: `context "practitioner" is not patient, user or system`},
	{in: "/Observation.rs", ref: refFailClosed, err: `context "" is not patient, user or system`},
	{in: "encounter/*.read", ref: refFailClosed, err: "is not patient, user or system"},
	{in: "patient./Observation.rs?code=1", ref: refFailClosed, err: "is not patient, user or system"},

	// Invalid: v1 with a query, malformed queries.
	{in: "patient/Observation.read?category=x", ref: refV2Finer, err: "v1 permission \"read\" cannot take a query"},
	{in: "patient/Observation.*?category=x", ref: refV2Finer, err: "cannot take a query"},
	{in: "patient/Observation.write?x=y", ref: refV2Finer, err: "cannot take a query"},
	{in: "patient/Observation.rs?", ref: refV2Finer, err: "empty query"},
	{in: "patient/Observation.rs?a", ref: refV2Finer, err: "is not param=value"},
	{in: "patient/Observation.rs?=b", ref: refV2Finer, err: "empty parameter name"},
	{in: "patient/Observation.rs?a=", ref: refV2Finer, err: "empty value"},
	{in: "patient/Observation.rs?a=b&", ref: refV2Finer, err: "stray '&'"},
	{in: "patient/Observation.rs?a=b&&c=d", ref: refV2Finer, err: "stray '&'"},
	{in: "patient/Observation.rs?&a=b", ref: refV2Finer, err: "stray '&'"},
	{in: "patient/Observation.rs?a=b=c", ref: refV2Finer, err: "contains '='"},
	{in: "patient/Observation.rs?a=%zz", ref: refV2Finer, err: "malformed percent-encoding"},
	{in: "patient/Observation.rs?a=b%4", ref: refV2Finer, err: "malformed percent-encoding"},
	{in: "patient/Observation.rs?a=b%", ref: refV2Finer, err: "malformed percent-encoding"},
	{in: "patient/Observation.rs?a=b#frag", ref: refV2Finer, err: "not allowed unencoded"},
	{in: "patient/Observation.rs?a=[1]", ref: refV2Finer, err: "not allowed unencoded"},
	{in: "patient/Observation.rs?a%20b=c", ref: refV2Finer, err: "parameter \"a%20b\" contains '%'"},
	{in: "patient/Observation.rs?a/b=c", ref: refV2Finer, err: "parameter"},

	// Invalid: characters outside the RFC 6749 scope-token set.
	{in: "", ref: refRFC6749, err: "empty scope token"},
	{in: "open id", ref: refRFC6749, err: `byte " " at offset 4`},
	{in: "openid\"", ref: refRFC6749, err: `byte "\"" at offset 6`},
	{in: "open\\id", ref: refRFC6749, err: `byte "\\" at offset 4`},
	{in: "openid\t", ref: refRFC6749, err: `byte "\t" at offset 6`},
	{in: "openid\n", ref: refRFC6749, err: `byte "\n"`},
	{in: "openid\x00", ref: refRFC6749, err: `byte "\x00"`},
	{in: "openid\x7f", ref: refRFC6749, err: `byte "\x7f"`},
	{in: "patient/Obsérvation.read", ref: refRFC6749, err: `byte "\xc3" at offset 11`},
	{in: "patient/Observation.rs?category=caf\u00e9", ref: refRFC6749, err: "not allowed in a scope token"},
}

func TestParse(t *testing.T) {
	require.GreaterOrEqual(t, len(parseCases), 60)
	for _, tc := range parseCases {
		t.Run(tc.in, func(t *testing.T) {
			require.NotEmpty(t, tc.ref, "every case cites its source")
			s, err := Parse(tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalid)
				var pe *Error
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tc.in, pe.Scope)
				assert.Contains(t, pe.Reason, tc.err)
				assert.Contains(t, err.Error(), "scope ")
				assert.Equal(t, Scope{}, s, "a failed parse returns the zero Scope")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.ctx, s.Context, "context")
			assert.Equal(t, tc.typ, s.ResourceType, "type")
			assert.Equal(t, tc.perm, s.Permissions, "permissions")
			assert.Equal(t, tc.cons, s.Constraints, "constraints")
			assert.Equal(t, tc.syntax, s.Syntax, "syntax")
			assert.Equal(t, tc.ctx != NoContext, s.IsResource())
			assert.Equal(t, tc.in, s.String(), "String echoes the input")
			again, err := Parse(s.Canonical())
			require.NoError(t, err, "canonical form %q parses", s.Canonical())
			assert.True(t, again.Equal(s), "canonical form %q means the same", s.Canonical())
		})
	}
}

func TestParseErrorTruncatesHugeToken(t *testing.T) {
	huge := "patient/Observation.rs?category=" + strings.Repeat("x", 10000) + "#"
	_, err := Parse(huge)
	require.ErrorIs(t, err, ErrInvalid)
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Len(t, pe.Scope, maxErrorScope+len("..."))
	assert.True(t, strings.HasPrefix(huge, strings.TrimSuffix(pe.Scope, "...")))
	assert.Less(t, len(err.Error()), 400)
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("patient/Observation.sr")
	require.EqualError(t, err, `scope "patient/Observation.sr": permission letter 'r' after 's': v2 letters must appear in the order c r u d s`)
	e := &Error{Scope: "x", Reason: "y"}
	assert.True(t, errors.Is(e, ErrInvalid))
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"patient/Observation.read", "patient/Observation.rs"},
		{"patient/Observation.write", "patient/Observation.cud"},
		{"user/*.*", "user/*.cruds"},
		{"system/*.read", "system/*.rs"},
		{"patient/Observation.rs", "patient/Observation.rs"},
		{"patient/Observation.rs?status=final&category=lab", "patient/Observation.rs?category=lab&status=final"},
		{"patient/Observation.rs?b=2&a=1&b=2", "patient/Observation.rs?a=1&b=2"},
		{"launch/patient", "launch/patient"},
		{"openid", "openid"},
	}
	for _, tc := range tests {
		s, err := Parse(tc.in)
		require.NoError(t, err)
		assert.Equal(t, tc.want, s.Canonical(), tc.in)
		assert.Equal(t, tc.in, s.String(), tc.in)
	}
	// A struct literal has no text: String falls back to the canonical form.
	lit := Scope{Context: User, ResourceType: "Patient", Permissions: V1Read}
	assert.Equal(t, "user/Patient.rs", lit.String())
	assert.Equal(t, "", Scope{}.String())
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"patient/Observation.read", "patient/Observation.rs", true},
		{"patient/Observation.write", "patient/Observation.cud", true},
		{"patient/Observation.*", "patient/Observation.cruds", true},
		{"patient/*.*", "patient/*.cruds", true},
		{"patient/Observation.rs?a=1&b=2", "patient/Observation.rs?b=2&a=1", true},
		{"patient/Observation.rs?a=1", "patient/Observation.rs?a=1&a=1", true},
		{"openid", "openid", true},
		{"patient/Observation.read", "user/Observation.read", false},
		{"patient/Observation.read", "patient/Observation.r", false},
		{"patient/Observation.read", "patient/*.read", false},
		{"patient/Observation.rs", "patient/Observation.rs?a=1", false},
		{"patient/Observation.rs?a=1", "patient/Observation.rs?a=2", false},
		{"patient/Observation.rs?a=1", "patient/Observation.rs?a=1&b=2", false},
		{"patient/Observation.rs?a=%7C", "patient/Observation.rs?a=|", false}, // raw values compared
		{"openid", "fhirUser", false},
		{"launch/patient", "launch/Patient", false},
	}
	for _, tc := range tests {
		a, err := Parse(tc.a)
		require.NoError(t, err)
		b, err := Parse(tc.b)
		require.NoError(t, err)
		assert.Equal(t, tc.want, a.Equal(b), "%s == %s", tc.a, tc.b)
		assert.Equal(t, tc.want, b.Equal(a), "%s == %s", tc.b, tc.a)
	}
}

func TestStringers(t *testing.T) {
	assert.Equal(t, "patient", Patient.String())
	assert.Equal(t, "user", User.String())
	assert.Equal(t, "system", System.String())
	assert.Equal(t, "", NoContext.String())
	assert.Equal(t, "", Context(9).String())
	assert.Equal(t, "rs", V1Read.String())
	assert.Equal(t, "cud", V1Write.String())
	assert.Equal(t, "cruds", All.String())
	assert.Equal(t, "cruds", Permission(0xff).String())
	assert.Equal(t, "", Permission(0).String())
	assert.Equal(t, "ds", (Delete | Search).String())
	assert.Equal(t, "v1", SyntaxV1.String())
	assert.Equal(t, "v2", SyntaxV2.String())
	assert.Equal(t, "none", SyntaxNone.String())
	assert.Equal(t, "denied", Denied.String())
	assert.Equal(t, "constrained", Constrained.String())
	assert.Equal(t, "unconstrained", Unconstrained.String())
	assert.Equal(t, "a=b%7Cc", Constraint{"a", "b%7Cc"}.String())
}

func TestConstraintDecodedValue(t *testing.T) {
	s, err := Parse("patient/Observation.rs?category=http://x.org/cs%7Clab&code=a+b")
	require.NoError(t, err)
	require.Len(t, s.Constraints, 2)
	assert.Equal(t, "http://x.org/cs%7Clab", s.Constraints[0].Value, "kept raw")
	assert.Equal(t, "http://x.org/cs|lab", s.Constraints[0].DecodedValue())
	assert.Equal(t, "a b", s.Constraints[1].DecodedValue())
	assert.Equal(t, "%zz", Constraint{"a", "%zz"}.DecodedValue(), "malformed hand-built value returned raw")
}
