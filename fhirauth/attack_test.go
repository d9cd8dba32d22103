package fhirauth

// Adversarial review of fhirauth: every case is an attack by a caller who
// holds a patient/ token for Patient/123 (A), a narrow user/ token or a SMART
// v2 constrained token, and wants Patient/456's (B's) data, counts,
// existence, or to write into B's record. Each case is named after the
// attack; the expectation is what must happen for the attack to fail
// (denied, or allowed only with narrowing or a response check that keeps B
// out). The ideas come from bypasses reported against peers (HAPI's
// AuthorizationInterceptor and SearchNarrowingInterceptor, Microsoft's FHIR
// server, Google's fhir-gateway, IBM/LinuxForHealth fhir-smart).

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
)

// narrowedToA asserts that an allowed search stays in A's compartment: the
// decision narrows by A (or is a compartment search of A).
func narrowedToA(t *testing.T, d *Decision) {
	t.Helper()
	q := d.ApplyTo(url.Values{})
	ok := containsString(q["patient"], "Patient/123") || containsString(q["subject"], "Patient/123") || containsString(q["_id"], "123")
	assert.True(t, ok, "search must be narrowed to Patient/123, narrow=%v", d.Narrow)
}

// filtersB asserts that the decision's response check removes B's
// Observation and B's Patient from a Bundle and keeps A's Observation.
func filtersB(t *testing.T, d *Decision) {
	t.Helper()
	require.True(t, d.NeedsResponseCheck(), "a response check is needed")
	out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"searchset","total":3,"entry":[{"resource":` + obsOf123 + `},{"resource":` + obsOf456 + `},{"resource":` + patient456 + `}]}`))
	require.NoError(t, err)
	assert.Equal(t, 2, removed)
	assert.NotContains(t, string(out), "456")
	assert.NotContains(t, string(out), `"total"`)
}

func runAttacks(t *testing.T, cases []decisionCase) {
	t.Helper()
	def := testPolicy(t)
	seen := map[string]bool{}
	for _, tc := range cases {
		require.False(t, seen[tc.name], "duplicate case name %q", tc.name)
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			if p == nil {
				p = def
			}
			var pr *tokenPrincipal
			if !tc.noToken {
				pr = principal(t, tc.scopes, tc.patient)
			}
			_, d := authorize(t, p, pr, tc.method, tc.url, tc.body, tc.headers)
			require.NotNil(t, d)
			if tc.allow {
				require.True(t, d.Allowed, "expected allow; got %d: %s", d.Status, d.Reason)
			} else {
				require.False(t, d.Allowed, "ATTACK SUCCEEDED: allowed (context %v, narrow %v, response check %v)", d.Context, d.Narrow, d.NeedsResponseCheck())
				if tc.status != 0 {
					assert.Equal(t, tc.status, d.Status, "status; reason: %s", d.Reason)
				}
				assert.NotEmpty(t, d.Reason)
				assert.NotContains(t, d.Reason, "\n", "reasons are single-line (log injection)")
				assert.NotContains(t, d.Reason, "\r", "reasons are single-line (log injection)")
			}
			if tc.reason != "" {
				assert.Contains(t, d.Reason, tc.reason)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

// Search parameter names: modifiers, case and encoding variants, repeats.
func TestAttackParameterNames(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "modifier :missing on patient", method: "GET", url: "/fhir/Observation?patient:missing=true", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :not on patient", method: "GET", url: "/fhir/Observation?patient:not=Patient/123", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :exact on subject", method: "GET", url: "/fhir/Observation?subject:exact=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :identifier on subject", method: "GET", url: "/fhir/Observation?subject:identifier=https://fhir.nhs.uk/Id/nhs-number|9999999999", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :below on subject", method: "GET", url: "/fhir/Observation?subject:below=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :above on subject", method: "GET", url: "/fhir/Observation?subject:above=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :text on subject", method: "GET", url: "/fhir/Observation?subject:text=Jones", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :of-type on subject", method: "GET", url: "/fhir/Observation?subject:of-type=x|y|456", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :Patient with B", method: "GET", url: "/fhir/Observation?patient:Patient=456", scopes: patientAll, patient: A, status: 403},
		{name: "modifier :Patient with A is fine", method: "GET", url: "/fhir/Observation?patient:Patient=123", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "subject:Group", method: "GET", url: "/fhir/Observation?subject:Group=g1", scopes: patientAll, patient: A, status: 403},
		{name: "empty modifier", method: "GET", url: "/fhir/Observation?subject:=Patient/456", scopes: patientAll, patient: A},
		{name: "double modifier", method: "GET", url: "/fhir/Observation?subject:Patient:exact=456", scopes: patientAll, patient: A},
		{name: "repeated patient, second is B", method: "GET", url: "/fhir/Observation?patient=123&patient=456", scopes: patientAll, patient: A, status: 403},
		{name: "patient A and subject B", method: "GET", url: "/fhir/Observation?patient=123&subject=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "performer is a compartment parameter naming B", method: "GET", url: "/fhir/Observation?performer=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "case variant Patient=", method: "GET", url: "/fhir/Observation?Patient=456", scopes: patientAll, patient: A, status: 403, reason: "case"},
		{name: "case variant PATIENT=", method: "GET", url: "/fhir/Observation?PATIENT=456", scopes: patientAll, patient: A, status: 403, reason: "case"},
		{name: "case variant Subject=", method: "GET", url: "/fhir/Observation?Subject=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "case variant _ID on Patient", method: "GET", url: "/fhir/Patient?_ID=456", scopes: patientAll, patient: A, status: 400},
		{name: "percent-encoded name %70atient", method: "GET", url: "/fhir/Observation?%70atient=456", scopes: patientAll, patient: A, status: 403},
		{name: "percent-encoded separator in name", method: "GET", url: "/fhir/Observation?patient%3D456=x", scopes: patientAll, patient: A, status: 400},
		{name: "unicode lookalike name (Cyrillic a)", method: "GET", url: "/fhir/Observation?p%D0%B0tient=456", scopes: patientAll, patient: A, status: 400},
		{name: "NUL in name", method: "GET", url: "/fhir/Observation?patient%00=456", scopes: patientAll, patient: A, status: 400},
		{name: "space in name", method: "GET", url: "/fhir/Observation?patient+=456", scopes: patientAll, patient: A, status: 400},
		{name: "_id list on Patient", method: "GET", url: "/fhir/Patient?_id=123,456", scopes: patientAll, patient: A, status: 403},
		{name: "_id of B on Patient", method: "GET", url: "/fhir/Patient?_id=456", scopes: patientAll, patient: A, status: 403},
		{name: "_id on Observation stays narrowed", method: "GET", url: "/fhir/Observation?_id=obs-of-456", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "Patient link to B", method: "GET", url: "/fhir/Patient?link=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "other patient in a non-compartment reference", method: "GET", url: "/fhir/Observation?focus=Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "other patient absolute in a non-compartment reference", method: "GET", url: "/fhir/Observation?focus=http://fhir.test/fhir/Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "shared type searched by patient B", method: "GET", url: "/fhir/Practitioner?patient=456", scopes: patientAll, patient: A, status: 403},
		{name: "_sort through a chain (ordering oracle)", method: "GET", url: "/fhir/Observation?_sort=performer:Patient.family", scopes: patientAll, patient: A, status: 400},
		{name: "_method override parameter", method: "GET", url: "/fhir/Observation?_method=DELETE", scopes: patientAll, patient: A, status: 400},
	})
}

// Chains and reverse chains that would test B's data through A's resources.
func TestAttackChains(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "chain through the narrowing parameter is fine", method: "GET", url: "/fhir/Observation?subject:Patient.name=smith", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "untyped patient chain is fine", method: "GET", url: "/fhir/Observation?patient.birthdate=1970", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "chained oracle through performer (may be B)", method: "GET", url: "/fhir/Observation?performer:Patient.name=jones", scopes: patientAll, patient: A, status: 403, reason: "chained"},
		{name: "chained oracle through focus (a non-compartment reference)", method: "GET", url: "/fhir/Observation?focus:Patient.birthdate=1980", scopes: patientAll, patient: A, status: 403, reason: "chained"},
		{name: "chained oracle through another compartment type", method: "GET", url: "/fhir/Observation?encounter:Encounter.patient=456", scopes: patientAll, patient: A, status: 403},
		{name: "untyped chain through encounter", method: "GET", url: "/fhir/Observation?encounter.patient=456", scopes: patientAll, patient: A, status: 400},
		{name: "chained oracle from Patient through link", method: "GET", url: "/fhir/Patient?link:Patient.name=jones", scopes: patientAll, patient: A, status: 403},
		{name: "chained oracle second hop from A to B", method: "GET", url: "/fhir/Observation?subject:Patient.link:Patient.name=jones", scopes: patientAll, patient: A, status: 403},
		{name: "chained oracle from Coverage beneficiary (patient is not the narrowing)", method: "GET", url: "/fhir/Coverage?patient.name=jones", scopes: patientAll, patient: A, status: 403},
		{name: "chained oracle in a compartment search", method: "GET", url: "/fhir/Patient/123/Observation?subject:Patient.name=jones", scopes: patientAll, patient: A, status: 403},
		{name: "chain with _id of B is refused", method: "GET", url: "/fhir/Observation?subject:Patient._id=456", scopes: patientAll, patient: A, status: 403},
		{name: "chain into _has", method: "GET", url: "/fhir/Observation?patient._has:Condition:patient:code=x", scopes: "user/Observation.rs user/Patient.rs", status: 400},
		{name: "chained oracle: chain then _has on an unpermitted type", method: "GET", url: "/fhir/Observation?subject:Patient._has:Condition:subject:code=hiv", scopes: "user/Observation.rs user/Patient.rs"},
		{name: "_has from Observation", method: "GET", url: "/fhir/Observation?_has:Observation:has-member:code=x", scopes: patientAll, patient: A, status: 403},
		{name: "_has through performer", method: "GET", url: "/fhir/Patient?_has:Observation:performer:code=x", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "_has on an unpermitted type", method: "GET", url: "/fhir/Patient?_has:Condition:subject:code=hiv", scopes: "patient/Patient.rs patient/Observation.rs", patient: A, status: 403},
		{name: "_has nested", method: "GET", url: "/fhir/Patient?_has:Observation:subject:_has:Provenance:target:agent=x", scopes: patientAll, patient: A, status: 403},
		{name: "_has with a chain at the end", method: "GET", url: "/fhir/Patient?_has:Observation:subject:performer.name=x", scopes: patientAll, patient: A, status: 400},
		{name: "_has with a malformed key", method: "GET", url: "/fhir/Patient?_has:Observation=x", scopes: patientAll, patient: A, status: 400},
		{name: "_has case variant", method: "GET", url: "/fhir/Patient?_HAS:Observation:subject:code=x", scopes: patientAll, patient: A, status: 400},
	})
}

// Chains through the narrowing parameter where its element repeats: the
// narrowing (member=Patient/123) holds when SOME member is A, the chain
// when ANY member's Patient matches, so it tests B, A's co-member: 16
// requests of "Group?member:Patient.birthdate=lt..." recover a co-member's
// birth date by bisection. Only a parameter holding a
// single reference (Observation.subject) pins the chain to A.
func TestAttackChainsThroughRepeatingElements(t *testing.T) {
	const A = "123"
	stu3 := testPolicy(t, WithVersion(fhirspec.STU3))
	runAttacks(t, []decisionCase{
		{name: "R4 Group member birth date oracle", method: "GET", url: "/fhir/Group?member:Patient.birthdate=lt1970-01-01", scopes: patientAll, patient: A, status: 403, reason: "Group.member.entity, where member repeats"},
		{name: "R4 Group member identifier oracle", method: "GET", url: "/fhir/Group?member:Patient.identifier=http://hl7.org/fhir/sid/us-ssn|123-45-6789", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Group member name oracle", method: "GET", url: "/fhir/Group?member:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Group member _id", method: "GET", url: "/fhir/Group?member:Patient._id=123", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Group untyped member chain", method: "GET", url: "/fhir/Group?member.name=Bob", scopes: patientAll, patient: A, status: 400},
		{name: "R4 Group member chain with the narrowing spelt out", method: "GET", url: "/fhir/Group?member=Patient/123&member:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Appointment actor name oracle", method: "GET", url: "/fhir/Appointment?actor:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "Appointment.participant.actor, where participant repeats"},
		{name: "R4 Appointment actor birth date oracle", method: "GET", url: "/fhir/Appointment?actor:Patient.birthdate=1961-03-04", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Schedule actor name oracle", method: "GET", url: "/fhir/Schedule?actor:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "Schedule.actor, where actor repeats"},
		{name: "R4 Schedule actor birth date oracle", method: "GET", url: "/fhir/Schedule?actor:Patient.birthdate=1961-03-04", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 AuditEvent patient name oracle", method: "GET", url: "/fhir/AuditEvent?patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "AuditEvent.agent.who, where agent repeats"},
		{name: "R4 AuditEvent typed patient chain", method: "GET", url: "/fhir/AuditEvent?patient:Patient.birthdate=1961-03-04", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Provenance patient birth date oracle", method: "GET", url: "/fhir/Provenance?patient.birthdate=1961-03-04", scopes: patientAll, patient: A, status: 403, reason: "Provenance.target, where target repeats"},
		{name: "R4 Provenance patient name oracle", method: "GET", url: "/fhir/Provenance?patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "R4 Person patient name oracle", method: "GET", url: "/fhir/Person?patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "Person.link.target, where link repeats"},
		{name: "R4 Account subject name oracle (subject is 0..* in R4)", method: "GET", url: "/fhir/Account?subject:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "Account.subject, where subject repeats"},
		{name: "STU3 Group member birth date oracle", policy: stu3, method: "GET", url: "/fhir/Group?member:Patient.birthdate=lt1970-01-01", scopes: patientAll, patient: A, status: 403, reason: "Group.member.entity, where member repeats"},
		{name: "STU3 Appointment actor name oracle", policy: stu3, method: "GET", url: "/fhir/Appointment?actor:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "STU3 Schedule actor name oracle", policy: stu3, method: "GET", url: "/fhir/Schedule?actor:Patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "STU3 AuditEvent patient name oracle", policy: stu3, method: "GET", url: "/fhir/AuditEvent?patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "AuditEvent.agent.reference, where agent repeats"},
		{name: "STU3 Provenance patient birth date oracle", policy: stu3, method: "GET", url: "/fhir/Provenance?patient.birthdate=1961-03-04", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		{name: "STU3 Person patient name oracle", policy: stu3, method: "GET", url: "/fhir/Person?patient.name=Bob", scopes: patientAll, patient: A, status: 403, reason: "chained oracle"},
		// A single reference, pinned by the narrowing: still allowed.
		{name: "R4 Observation subject chain is pinned", method: "GET", url: "/fhir/Observation?subject:Patient.name=Bob", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "R4 Observation patient chain is pinned", method: "GET", url: "/fhir/Observation?patient.name=Bob", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "R4 Encounter patient chain is pinned", method: "GET", url: "/fhir/Encounter?patient.birthdate=1961-03-04", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "STU3 Observation subject chain is pinned", policy: stu3, method: "GET", url: "/fhir/Observation?subject:Patient.name=Bob", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "STU3 Account subject chain is pinned (0..1 in STU3)", policy: stu3, method: "GET", url: "/fhir/Account?subject:Patient.name=Bob", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		// Without patient context there is no narrowing to rely on; the
		// chain is decided by the scopes alone, as before.
		{name: "user scopes may chain through Group member", method: "GET", url: "/fhir/Group?member:Patient.name=Bob", scopes: "user/Group.rs user/Patient.rs", allow: true},
	})
}

// TestPinnedChainsFollowCardinality checks every type of both releases: a
// chain through a narrowing alias is allowed under patient context exactly
// when fhirspec says the narrowing parameter's one path is single-valued,
// and the types where it is not are Group, Appointment, Schedule,
// AuditEvent, Provenance and Person (plus R4 Account, whose subject
// became 0..*).
func TestPinnedChainsFollowCardinality(t *testing.T) {
	wantUnpinned := map[fhirspec.Version][]string{
		fhirspec.STU3: {"Appointment", "AuditEvent", "Group", "Person", "Provenance", "Schedule"},
		fhirspec.R4:   {"Account", "Appointment", "AuditEvent", "Group", "Person", "Provenance", "Schedule"},
	}
	pr := principal(t, patientAll, "123")
	for _, v := range []fhirspec.Version{fhirspec.STU3, fhirspec.R4} {
		p := testPolicy(t, WithVersion(v))
		var unpinned []string
		for _, typ := range fhirspec.PatientCompartmentTypes(v) {
			ci := p.compartment[typ]
			if typ == "Patient" || len(ci.narrowAliases) == 0 {
				continue
			}
			params, _ := fhirspec.PatientCompartment(v, typ)
			single := false
			for _, prm := range params {
				if prm.Name == ci.narrow {
					single = len(prm.Paths) == 1 && fhirspec.SingleValuedPath(v, typ, prm.Paths[0])
				}
			}
			if !single {
				unpinned = append(unpinned, typ)
			}
			for _, alias := range ci.narrowAliases {
				for _, key := range []string{alias + ":Patient.name", alias + ":Patient.birthdate"} {
					_, d := authorize(t, p, pr, "GET", "/fhir/"+typ+"?"+key+"=x", "", nil)
					assert.Equal(t, single, d.Allowed, "%v %s?%s: %d %s", v, typ, key, d.Status, d.Reason)
				}
			}
		}
		assert.Equal(t, wantUnpinned[v], unpinned, "%v", v)
	}
}

// _include and _revinclude variants: either denied or response-checked.
func TestAttackIncludes(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "wildcard include", method: "GET", url: "/fhir/Observation?_include=*", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "wildcard revinclude", method: "GET", url: "/fhir/Patient?_revinclude=*", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "iterate include to B via performer", method: "GET", url: "/fhir/Observation?_include:iterate=Observation:performer:Patient", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "STU3 recurse include", method: "GET", url: "/fhir/Observation?_include:recurse=Observation:has-member:Observation", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "iterate include through Patient.link", method: "GET", url: "/fhir/Observation?_include=Observation:patient&_include:iterate=Patient:link:Patient", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "untyped include", method: "GET", url: "/fhir/Observation?_include=Observation:performer", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "include of an unshared type", method: "GET", url: "/fhir/Observation?_include=Observation:performer:Organization", scopes: patientAll, patient: A, status: 403},
		{name: "include with a bogus modifier", method: "GET", url: "/fhir/Observation?_include:everything=*", scopes: patientAll, patient: A, status: 400},
		{name: "include case variant", method: "GET", url: "/fhir/Observation?_Include=*", scopes: patientAll, patient: A, status: 400},
		{name: "include of an unpermitted type with user scopes", method: "GET", url: "/fhir/Observation?_include=Observation:subject:Patient", scopes: "user/Observation.rs", status: 403},
		{name: "revinclude wildcard with narrow user scopes", method: "GET", url: "/fhir/Patient?_revinclude=*", scopes: "user/Patient.rs user/Observation.rs", status: 403},
		{name: "include with CRLF in the parameter (log injection)", method: "GET", url: "/fhir/Observation?_include=Observation:x%0d%0aINFO%20forged", scopes: "user/Observation.rs", status: 403},
		{name: "include with 4 parts", method: "GET", url: "/fhir/Observation?_include=Observation:subject:Patient:x", scopes: patientAll, patient: A, status: 400},
		{name: "revinclude from a shared type is filtered", method: "GET", url: "/fhir/Practitioner?_revinclude=Observation:performer", scopes: patientAll, patient: A, allow: true, check: filtersB},
	})
}

// Parameter values: OR-lists, encodings, absolute and versioned references.
func TestAttackValues(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "OR-list A,B", method: "GET", url: "/fhir/Observation?patient=123,456", scopes: patientAll, patient: A, status: 403},
		{name: "OR-list of references", method: "GET", url: "/fhir/Observation?patient=Patient/123,Patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "OR-list with an encoded comma", method: "GET", url: "/fhir/Observation?patient=123%2C456", scopes: patientAll, patient: A, status: 403},
		{name: "escaped comma", method: "GET", url: "/fhir/Observation?patient=123%5C,456", scopes: patientAll, patient: A, status: 403},
		{name: "absolute URL of another server naming A", method: "GET", url: "/fhir/Observation?patient=http://other.example/fhir/Patient/123", scopes: patientAll, patient: A, status: 403},
		{name: "versioned reference", method: "GET", url: "/fhir/Observation?patient=Patient/456/_history/1", scopes: patientAll, patient: A, status: 403},
		{name: "empty value", method: "GET", url: "/fhir/Observation?patient=", scopes: patientAll, patient: A, status: 403},
		{name: "trailing comma", method: "GET", url: "/fhir/Observation?patient=123,", scopes: patientAll, patient: A, status: 403},
		{name: "fullwidth digits", method: "GET", url: "/fhir/Observation?patient=%EF%BC%94%EF%BC%95%EF%BC%96", scopes: patientAll, patient: A, status: 403},
		{name: "mis-cased reference type", method: "GET", url: "/fhir/Observation?patient=patient/456", scopes: patientAll, patient: A, status: 403},
		{name: "conditional reference as a value", method: "GET", url: "/fhir/Observation?subject=Patient?identifier=x", scopes: patientAll, patient: A, status: 403},
		{name: "malformed escape", method: "GET", url: "/fhir/Observation?patient=%zz", scopes: patientAll, patient: A, status: 400},
		{name: "semicolon separator", method: "GET", url: "/fhir/Observation?patient=123;patient=456", scopes: patientAll, patient: A, status: 400},
		// A URL parser ends the query at "#": the server would search
		// every type, not only the one the token may search.
		{name: "raw # before _type", method: "GET", url: "/fhir?_lastUpdated=gt2000#&_type=Practitioner", scopes: "user/Practitioner.rs", status: 400, reason: "fragment"},
		{name: "escaped # before _type", method: "GET", url: "/fhir?_lastUpdated=gt2000%23&_type=Practitioner", scopes: "user/Practitioner.rs", allow: true},
		{name: "negative _count", method: "GET", url: "/fhir/Observation?_count=-1", scopes: patientAll, patient: A, status: 400},
		{name: "two _summary values", method: "GET", url: "/fhir/Observation?_summary=count&_summary=false", scopes: patientAll, patient: A, status: 400},
	})
}

// Paths: traversal, encoding, case, compartments of other patients.
func TestAttackPaths(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "dot segments", method: "GET", url: "/fhir/Patient/123/../456", scopes: patientAll, patient: A, status: 400},
		{name: "dot segment at the start", method: "GET", url: "/fhir/./Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "encoded dot segments", method: "GET", url: "/fhir/Patient/123/%2e%2e/456", scopes: patientAll, patient: A, status: 400},
		{name: "double-encoded dot segments", method: "GET", url: "/fhir/Patient/123/%252e%252e/456", scopes: patientAll, patient: A, status: 400},
		{name: "encoded slash", method: "GET", url: "/fhir/Patient%2F456", scopes: patientAll, patient: A, status: 400},
		{name: "encoded letter", method: "GET", url: "/fhir/%50atient/456", scopes: patientAll, patient: A, status: 400},
		{name: "encoded NUL", method: "GET", url: "/fhir/Patient/456%00", scopes: patientAll, patient: A, status: 400},
		{name: "matrix parameter", method: "GET", url: "/fhir/Patient/123;/456", scopes: patientAll, patient: A, status: 400},
		{name: "trailing slash", method: "GET", url: "/fhir/Patient/456/", scopes: patientAll, patient: A, status: 400},
		{name: "double slash", method: "GET", url: "/fhir//Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "backslash", method: "GET", url: `/fhir/Patient\456`, scopes: patientAll, patient: A, status: 400},
		{name: "lower-case type", method: "GET", url: "/fhir/patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "upper-case base", method: "GET", url: "/FHIR/Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "base traversal", method: "GET", url: "/fhir/../fhir/Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "unicode lookalike type", method: "GET", url: "/fhir/P%D0%B0tient/456", scopes: patientAll, patient: A, status: 400},
		{name: "everything of B", method: "GET", url: "/fhir/Patient/456/$everything", scopes: patientAll, patient: A, status: 404},
		{name: "everything of all patients", method: "GET", url: "/fhir/Patient/$everything", scopes: patientAll, patient: A, status: 403},
		{name: "everything of A is filtered", method: "GET", url: "/fhir/Patient/123/$everything", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "compartment search of B", method: "GET", url: "/fhir/Patient/456/Observation", scopes: patientAll, patient: A, status: 404},
		{name: "compartment search of B by POST", method: "POST", url: "/fhir/Patient/456/Observation/_search", body: "code=x", scopes: patientAll, patient: A, status: 404},
		{name: "compartment wildcard of B", method: "GET", url: "/fhir/Patient/456/*", scopes: patientAll, patient: A, status: 404},
		{name: "compartment wildcard of A is filtered", method: "GET", url: "/fhir/Patient/123/*", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "compartment search of A for Patients stays on A", method: "GET", url: "/fhir/Patient/123/Patient", scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.Equal(t, []string{"123"}, d.ApplyTo(nil)["_id"], "linked Patients are not A")
		}},
		{name: "Practitioner compartment wildcard", method: "GET", url: "/fhir/Practitioner/9/*", scopes: patientAll, patient: A},
		{name: "Encounter compartment of B is narrowed to A", method: "GET", url: "/fhir/Encounter/e-of-456/Observation", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "vread of B", method: "GET", url: "/fhir/Patient/456/_history/1", scopes: patientAll, patient: A, status: 404},
		{name: "history of B", method: "GET", url: "/fhir/Patient/456/_history", scopes: patientAll, patient: A, status: 404},
		{name: "operation on B", method: "GET", url: "/fhir/Patient/456/$summary", scopes: patientAll, patient: A, status: 404},
		{name: "too many segments", method: "GET", url: "/fhir/Patient/123/Observation/1/_history/2", scopes: patientAll, patient: A, status: 400},
		{name: "wildcard in a segment", method: "GET", url: "/fhir/Patient/12*", scopes: patientAll, patient: A, status: 400},
	})
}

// Methods and headers a server might honour differently.
func TestAttackMethods(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "HEAD read of another patient's Observation (existence oracle)", method: "HEAD", url: "/fhir/Observation/obs-of-456", scopes: patientAll, patient: A, status: 400, reason: "HEAD"},
		{name: "HEAD of a response-checked search", method: "HEAD", url: "/fhir/Observation?_include=*", scopes: patientAll, patient: A, status: 400, reason: "HEAD"},
		{name: "HEAD entry in a batch", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("batch", entry("HEAD", "Observation/obs-of-456", "")), allow: true, check: func(t *testing.T, d *Decision) {
			require.Len(t, d.Entries, 1)
			assert.False(t, d.Entries[0].Allowed)
		}},
		{name: "HEAD of B", method: "HEAD", url: "/fhir/Patient/456", scopes: patientAll, patient: A, status: 404},
		{name: "HEAD kick-off of an export", method: "HEAD", url: "/fhir/$export", scopes: "system/*.rs", status: 400, reason: "HEAD"},
		{name: "HEAD kick-off of a patient export", method: "HEAD", url: "/fhir/Patient/$export?_type=Observation", scopes: "system/*.rs", status: 400, reason: "HEAD"},
		{name: "HEAD of a narrowed search is fine", method: "HEAD", url: "/fhir/Observation?code=x", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "OPTIONS", method: "OPTIONS", url: "/fhir/Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "TRACE", method: "TRACE", url: "/fhir/Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "lower-case method", method: "get", url: "/fhir/Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "X-HTTP-Method-Override turns a read into a delete", method: "GET", url: "/fhir/Observation/1", headers: map[string]string{"X-HTTP-Method-Override": "DELETE"}, scopes: "user/Observation.r", status: 400, reason: "override"},
		{name: "X-HTTP-Method turns a search into a delete", method: "POST", url: "/fhir/Observation/_search", body: "code=x", headers: map[string]string{"X-HTTP-Method": "DELETE"}, scopes: "user/Observation.rs", status: 400},
		{name: "X-Method-Override", method: "GET", url: "/fhir/Observation/1", headers: map[string]string{"X-Method-Override": "PUT"}, scopes: "user/Observation.r", status: 400},
		// HAPI FHIR's cascading delete: every resource referring to the
		// Practitioner (every patient's Observations it performed) goes
		// with it.
		{name: "X-Cascade on a delete", method: "DELETE", url: "/fhir/Practitioner/9", headers: map[string]string{"X-Cascade": "delete"}, scopes: "user/Practitioner.d", status: 400, reason: "X-Cascade"},
		{name: "X-Cascade on a transaction with a delete", method: "POST", url: "/fhir", body: bundle("transaction", entry("DELETE", "Practitioner/9", "")), headers: map[string]string{"X-Cascade": "delete"}, scopes: "user/Practitioner.d", status: 400, reason: "X-Cascade"},
		{name: "_cascade on a delete", method: "DELETE", url: "/fhir/Practitioner/9?_cascade=delete", scopes: "user/Practitioner.d", status: 400},
		{name: "POST _search form names B while the query names A", method: "POST", url: "/fhir/Observation/_search?patient=123", body: "patient=456", scopes: patientAll, patient: A, status: 403},
		{name: "POST _search form smuggles a wildcard include", method: "POST", url: "/fhir/Observation/_search", body: "_include=*", scopes: "user/Observation.rs", status: 403},
		{name: "POST _search with a JSON content type", method: "POST", url: "/fhir/Observation/_search", body: "patient=456", headers: map[string]string{"Content-Type": "application/fhir+json"}, scopes: patientAll, patient: A, status: 400},
		{name: "POST _search without a content type", method: "POST", url: "/fhir/Observation/_search", body: "patient=456", headers: map[string]string{"Content-Type": ""}, scopes: patientAll, patient: A, status: 400},
		{name: "POST _search form with a semicolon", method: "POST", url: "/fhir/Observation/_search", body: "patient=123;patient=456", scopes: patientAll, patient: A, status: 400},
		{name: "POST search operation smuggles B in a Parameters body", method: "POST", url: "/fhir/Observation/$lastn", scopes: patientAll, patient: A, status: 403,
			body: `{"resourceType":"Parameters","parameter":[{"name":"patient","valueString":"Patient/456"}]}`},
		{name: "POST search operation with a form body", method: "POST", url: "/fhir/Observation/$lastn", body: "patient=456", scopes: patientAll, patient: A, status: 400},
	})
}

// Bundles: batch/transaction tricks.
func TestAttackBundles(t *testing.T) {
	const A = "123"
	big := make([]string, maxBundleEntries+1)
	for i := range big {
		big[i] = `{"request":{"method":"GET","url":"metadata"}}`
	}
	binaryPatch := func(patch string) string {
		return `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + base64.StdEncoding.EncodeToString([]byte(patch)) + `"}`
	}
	runAttacks(t, []decisionCase{
		{name: "case-variant entry key", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Bundle","type":"batch","entry":[],"Entry":[{"request":{"method":"GET","url":"Patient/456"}}]}`},
		{name: "duplicate entry key", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Bundle","type":"batch","entry":[],"entry":[{"request":{"method":"GET","url":"Patient/456"}}]}`},
		{name: "duplicate request.url", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/123","url":"Patient/456"}}]}`},
		{name: "escaped key in an entry", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/123","u\u0072l":"Patient/456"}}]}`},
		{name: "type confusion: Batch", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400, body: bundle("Batch")},
		{name: "type confusion: transaction-response", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400, body: bundle("transaction-response")},
		{name: "type is not a string", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400, body: `{"resourceType":"Bundle","type":["batch"],"entry":[]}`},
		{name: "not a Bundle", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400, body: patient456},
		{name: "entry query smuggles B", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("GET", "Observation?patient=123&patient=456", "")), status: 403},
		{name: "entry query with a fragment", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("GET", "Observation?patient=123#x", "")), status: 400},
		{name: "entry with a network-path URL", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("GET", "//evil.example/fhir/Patient/456", "")), status: 400},
		{name: "entry with a urn URL", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("GET", "urn:uuid:1", "")), status: 400},
		{name: "entry with a leading space", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("GET", " Patient/456", "")), status: 400},
		{name: "entry with a lower-case method", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("get", "Patient/123", "")), status: 400},
		{name: "entry without request", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + obsOf456 + `}]}`, status: 400},
		{name: "entry resource is null", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Observation"},"resource":null}]}`, status: 400},
		{name: "nested batch posted to the base", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("POST", "", bundle("batch"))), status: 400},
		{name: "nested Bundle as a resource", method: "POST", url: "/fhir", scopes: "user/*.*", body: bundle("transaction", entry("PUT", "Bundle/1", `{"resourceType":"Bundle","id":"1","type":"collection"}`)), status: 400},
		{name: "GET of B in a transaction denies all", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("transaction", entry("GET", "Patient/123", ""), entry("GET", "Patient/456", "")), status: 403},
		{name: "GET of B in a batch is an entry denial", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("batch", entry("GET", "Patient/123", ""), entry("GET", "Patient/456", "")), allow: true, check: func(t *testing.T, d *Decision) {
			require.Len(t, d.Entries, 2)
			assert.True(t, d.Entries[0].Allowed)
			assert.False(t, d.Entries[1].Allowed)
			assert.Equal(t, http.StatusNotFound, d.Entries[1].Status)
		}},
		{name: "entries are response-checked", method: "POST", url: "/fhir", scopes: patientAll, patient: A, body: bundle("batch", entry("GET", "Observation/obs-of-456", "")), allow: true, check: func(t *testing.T, d *Decision) {
			require.Len(t, d.Entries, 1)
			assert.ErrorIs(t, d.Entries[0].checkRead([]byte(obsOf456)), ErrOutsideCompartment)
		}},
		{name: "conditional update of a Patient in a transaction is narrowed to A", method: "POST", url: "/fhir", scopes: patientAll, patient: A, allow: true,
			body: bundle("transaction", `{"fullUrl":"Patient/123","request":{"method":"PUT","url":"Patient?identifier=nhs|456"},"resource":{"resourceType":"Patient","id":"123"}}`), check: func(t *testing.T, d *Decision) {
				require.Len(t, d.Entries, 1)
				assert.Equal(t, []string{"123"}, d.Entries[0].ApplyTo(nil)["_id"])
			}},
		{name: "conditional reference to B in a transaction", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 403,
			body: bundle("transaction", entry("POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"performer":[{"reference":"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9999999999"}]}`))},
		{name: "conditional reference as the only subject", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 403,
			body: bundle("transaction", entry("POST", "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=x|456"}}`))},
		{name: "JSON Patch in a Binary moving the subject", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 403,
			body: bundle("transaction", entry("PATCH", "Observation/1", binaryPatch(`[{"op":"replace","path":"/subject","value":{"reference":"Patient/456"}}]`)))},
		{name: "Binary patch with bad base64", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400,
			body: bundle("transaction", entry("PATCH", "Observation/1", `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"%%%"}`))},
		{name: "If-None-Exist entry naming B", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 403,
			body: bundle("transaction", `{"request":{"method":"POST","url":"Observation","ifNoneExist":"Observation?patient=456"},"resource":`+obsOf123+`}`)},
		{name: "If-None-Exist entry for another type", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400,
			body: bundle("transaction", `{"request":{"method":"POST","url":"Observation","ifNoneExist":"Patient?_id=456"},"resource":`+obsOf123+`}`)},
		{name: "huge Bundle", method: "POST", url: "/fhir", scopes: patientAll, patient: A, status: 400, body: bundle("batch", big...), reason: "too many"},
	})
}

// A transaction PATCH entry's Binary holds its patch in the element of
// the policy's FHIR version: STU3's content, R4's data. A Binary that
// also carries the other version's element is refused, in either order
// and in any spelling: a server lenient about unknown elements (or of the
// other version) could apply that one instead of the patch judged.
func TestAttackBinaryPatchVersions(t *testing.T) {
	const A = "123"
	stu3 := testPolicy(t, WithVersion(fhirspec.STU3))
	b64 := func(patch string) string { return base64.StdEncoding.EncodeToString([]byte(patch)) }
	benign := b64(`[{"op":"replace","path":"/status","value":"amended"}]`)
	evil := b64(`[{"op":"replace","path":"/subject","value":{"reference":"Patient/456"}}]`)
	patch := func(members string) string {
		return bundle("transaction", entry("PATCH", "Observation/1", `{"resourceType":"Binary","contentType":"application/json-patch+json",`+members+`}`))
	}
	cases := []decisionCase{
		{name: "R4: benign data is allowed", allow: true, body: patch(`"data":"` + benign + `"`)},
		{name: "R4: evil data", status: 403, body: patch(`"data":"` + evil + `"`)},
		{name: "R4: benign data, evil content", status: 400, reason: `"content" is not an element of a R4 Binary`, body: patch(`"data":"` + benign + `","content":"` + evil + `"`)},
		{name: "R4: evil content, benign data", status: 400, body: patch(`"content":"` + evil + `","data":"` + benign + `"`)},
		{name: "R4: content only", status: 400, body: patch(`"content":"` + evil + `"`)},
		{name: "R4: case-variant content", status: 400, body: patch(`"data":"` + benign + `","Content":"` + evil + `"`)},
		{name: "R4: escaped content", status: 400, body: patch(`"data":"` + benign + `","\u0063ontent":"` + evil + `"`)},
		{name: "R4: content as an object", status: 400, body: patch(`"data":"` + benign + `","content":{"data":"` + evil + `"}`)},
		{name: "STU3: benign content is allowed", policy: stu3, allow: true, body: patch(`"content":"` + benign + `"`)},
		{name: "STU3: evil content", policy: stu3, status: 403, body: patch(`"content":"` + evil + `"`)},
		{name: "STU3: benign data, evil content", policy: stu3, status: 400, reason: `"data" is not an element of a STU3 Binary`, body: patch(`"data":"` + benign + `","content":"` + evil + `"`)},
		{name: "STU3: evil content, benign data", policy: stu3, status: 400, body: patch(`"content":"` + evil + `","data":"` + benign + `"`)},
		{name: "STU3: benign content, evil data", policy: stu3, status: 400, body: patch(`"content":"` + benign + `","data":"` + evil + `"`)},
		{name: "STU3: data only", policy: stu3, status: 400, body: patch(`"data":"` + benign + `"`)},
		{name: "STU3: case-variant data", policy: stu3, status: 400, body: patch(`"content":"` + benign + `","DATA":"` + evil + `"`)},
		{name: "STU3: escaped data", policy: stu3, status: 400, body: patch(`"content":"` + benign + `","d\u0061ta":"` + evil + `"`)},
		{name: "STU3: case-variant content", policy: stu3, status: 400, body: patch(`"Content":"` + evil + `"`)},
		{name: "STU3: bad base64 content", policy: stu3, status: 400, reason: "content is not base64", body: patch(`"content":"%%%"`)},
		{name: "STU3: no content", policy: stu3, status: 400, body: patch(`"securityContext":{"reference":"Patient/123"}`)},
	}
	for i := range cases {
		cases[i].method, cases[i].url, cases[i].scopes, cases[i].patient = "POST", "/fhir", patientAll, A
	}
	runAttacks(t, cases)
}

// Writes into B's record.
func TestAttackWrites(t *testing.T) {
	const A = "123"
	obs := func(extra string) string {
		return `{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}` + extra + `}`
	}
	fhirPathPatch := func(path, name string) string {
		s := `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":` + path + `}`
		if name != "" {
			s += `,{"name":"name","valueString":` + name + `}`
		}
		return s + `,{"name":"value","valueReference":{"reference":"Patient/456"}}]}]}`
	}
	runAttacks(t, []decisionCase{
		{name: "create with subject B", method: "POST", url: "/fhir/Observation", body: obsOf456, scopes: patientAll, patient: A, status: 403},
		{name: "create naming B through a conditional reference", method: "POST", url: "/fhir/Observation", body: obs(`,"performer":[{"reference":"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9999999999"}]`), scopes: patientAll, patient: A, status: 403, reason: "cannot be verified"},
		{name: "create naming B by an absolute URL of this server", method: "POST", url: "/fhir/Observation", body: obs(`,"performer":[{"reference":"http://fhir.test/fhir/Patient/456"}]`), scopes: patientAll, patient: A, status: 403},
		{name: "create naming B by a mis-cased reference", method: "POST", url: "/fhir/Observation", body: obs(`,"performer":[{"reference":"patient/456"}]`), scopes: patientAll, patient: A, status: 403},
		{name: "create naming B with a query suffix", method: "POST", url: "/fhir/Observation", body: obs(`,"performer":[{"reference":"Patient/456?x=1"}]`), scopes: patientAll, patient: A, status: 403},
		{name: "create naming B by a versioned reference", method: "POST", url: "/fhir/Observation", body: obs(`,"performer":[{"reference":"Patient/456/_history/1"}]`), scopes: patientAll, patient: A, status: 403},
		{name: "create with duplicate subject keys", method: "POST", url: "/fhir/Observation", body: `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"subject":{"reference":"Patient/456"}}`, scopes: patientAll, patient: A, status: 400},
		{name: "create with a case-variant subject key", method: "POST", url: "/fhir/Observation", body: `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"Subject":{"reference":"Patient/456"}}`, scopes: patientAll, patient: A, status: 400},
		{name: "create with an escaped subject key", method: "POST", url: "/fhir/Observation", body: `{"resourceType":"Observation","performer":[{"reference":"Patient/123"}],"subj\u0065ct":{"reference":"Patient/456"}}`, scopes: patientAll, patient: A, status: 400},
		{name: "create with a duplicate reference key", method: "POST", url: "/fhir/Observation", body: `{"resourceType":"Observation","subject":{"reference":"Patient/123","reference":"Patient/456"}}`, scopes: patientAll, patient: A, status: 400},
		{name: "create of a contained-only patient", method: "POST", url: "/fhir/Observation", body: `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}}`, scopes: patientAll, patient: A, status: 403},
		{name: "create with a resourceType mismatch", method: "POST", url: "/fhir/Observation", body: patient456, scopes: patientAll, patient: A, status: 400},
		{name: "create with two resourceType keys", method: "POST", url: "/fhir/Observation", body: `{"resourceType":"Observation","resourceType":"Patient","subject":{"reference":"Patient/123"}}`, scopes: patientAll, patient: A, status: 400},
		{name: "create with an XML content type", method: "POST", url: "/fhir/Observation", body: obsOf123, headers: map[string]string{"Content-Type": "application/fhir+xml"}, scopes: patientAll, patient: A, status: 400},
		{name: "create of a Patient", method: "POST", url: "/fhir/Patient", body: patient456, scopes: patientAll, patient: A, status: 403},
		{name: "create of a shared type", method: "POST", url: "/fhir/Practitioner", body: practBody, scopes: patientAll, patient: A, status: 403, reason: "shared"},
		{name: "update of a shared type", method: "PUT", url: "/fhir/Practitioner/9", body: practBody, scopes: patientAll, patient: A, status: 403, reason: "shared"},
		{name: "delete of a shared type", method: "DELETE", url: "/fhir/Practitioner/9", scopes: patientAll, patient: A, status: 403, reason: "shared"},
		{name: "update of B", method: "PUT", url: "/fhir/Patient/456", body: patient456, scopes: patientAll, patient: A, status: 403},
		{name: "update of A with B's body", method: "PUT", url: "/fhir/Patient/123", body: patient456, scopes: patientAll, patient: A, status: 400},
		{name: "update moving A's Observation to B", method: "PUT", url: "/fhir/Observation/1", body: obsOf456, scopes: patientAll, patient: A, status: 403},
		{name: "update of B's Observation to A (takeover)", method: "PUT", url: "/fhir/Observation/1", body: obsOf123, scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			require.True(t, d.NeedsStoredCheck())
			assert.ErrorIs(t, d.CheckStored([]byte(obsOf456)), ErrOutsideCompartment)
			assert.ErrorIs(t, d.CheckStored([]byte(obsBoth)), ErrOutsideCompartment)
			assert.ErrorIs(t, d.CheckStored([]byte(patient123)), ErrConstraint, "stored type differs")
			assert.NoError(t, d.CheckStored([]byte(obsOf123)))
		}},
		{name: "conditional update escaping the compartment", method: "PUT", url: "/fhir/Observation?subject=Patient/456", body: obsOf123, scopes: patientAll, patient: A, status: 403},
		{name: "conditional update is narrowed", method: "PUT", url: "/fhir/Observation?identifier=x", body: obsOf123, scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			narrowedToA(t, d)
			assert.True(t, d.NeedsStoredCheck())
		}},
		{name: "conditional delete of Patients is narrowed", method: "DELETE", url: "/fhir/Patient?identifier=x", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "conditional delete with a wildcard include", method: "DELETE", url: "/fhir/Observation?_include=*", scopes: "user/Observation.ds", status: 400},
		{name: "conditional create probing B's identifier", method: "POST", url: "/fhir/Observation", body: obsOf123, headers: map[string]string{"If-None-Exist": "patient=456&identifier=x"}, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch of subject", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/subject","value":{"reference":"Patient/456"}}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch of a case variant", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"add","path":"/Subject","value":{"reference":"Patient/456"}}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch adding a performer", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"add","path":"/performer/-","value":{"reference":"Patient/456"}}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch copy into subject", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"copy","from":"/focus/0","path":"/subject"}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch move from subject", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"move","from":"/subject","path":"/focus/0"}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch with an escaped path", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"\/s\u0075bject","value":{}}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch with duplicate path keys", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/status","path":"/subject","value":{}}]`, scopes: patientAll, patient: A, status: 400},
		{name: "JSON Patch of the id", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/id","value":"2"}]`, scopes: patientAll, patient: A, status: 403},
		{name: "JSON Patch not an array", method: "PATCH", url: "/fhir/Observation/1", body: `{"op":"replace","path":"/subject"}`, headers: map[string]string{"Content-Type": "application/json-patch+json"}, scopes: patientAll, patient: A, status: 400},
		{name: "XML Patch cannot be checked", method: "PATCH", url: "/fhir/Observation/1", body: `<diff/>`, headers: map[string]string{"Content-Type": "application/xml-patch+xml"}, scopes: patientAll, patient: A, status: 400},
		{name: "FHIRPath Patch of subject", method: "PATCH", url: "/fhir/Observation/1", body: fhirPathPatch(`"Observation.subject"`, ""), scopes: patientAll, patient: A, status: 403},
		{name: "FHIRPath Patch through children()", method: "PATCH", url: "/fhir/Observation/1", body: fhirPathPatch(`"Observation.children().where(reference='Patient/123')"`, ""), scopes: patientAll, patient: A, status: 403},
		{name: "FHIRPath Patch through descendants()", method: "PATCH", url: "/fhir/Observation/1", body: fhirPathPatch(`"Observation.descendants().ofType(Reference)"`, ""), scopes: patientAll, patient: A, status: 403},
		{name: "FHIRPath Patch with an escaped identifier", method: "PATCH", url: "/fhir/Observation/1", body: fhirPathPatch("\"Observation.`\\\\u0073ubject`\"", ""), scopes: patientAll, patient: A, status: 403},
		{name: "FHIRPath Patch with a case-variant part key", method: "PATCH", url: "/fhir/Observation/1", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Observation"},{"name":"name","valueString":"note"}],"Part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Observation"},{"name":"name","valueString":"performer"}]}]}`},
		{name: "FHIRPath Patch with duplicate name keys", method: "PATCH", url: "/fhir/Observation/1", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Observation"},{"name":"name","valueString":"performer","name":"name"}]}]}`},
		{name: "FHIRPath Patch with two values", method: "PATCH", url: "/fhir/Observation/1", scopes: patientAll, patient: A, status: 400,
			body: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Observation"},{"name":"name","valueString":"note","valueCode":"performer"}]}]}`},
		{name: "patch of own Patient's link", method: "PATCH", url: "/fhir/Patient/123", body: `[{"op":"add","path":"/link/-","value":{"other":{"reference":"Patient/456"},"type":"seealso"}}]`, scopes: patientAll, patient: A, status: 403},
		{name: "delete of B's Observation needs the stored check", method: "DELETE", url: "/fhir/Observation/obs-of-456", scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.CheckStored([]byte(obsOf456)), ErrOutsideCompartment)
		}},
		{name: "update-as-create without c", method: "PUT", url: "/fhir/Observation/new", body: `{"resourceType":"Observation","id":"new","subject":{"reference":"Patient/123"}}`, scopes: "patient/Observation.u", patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.CheckStored(nil), ErrConstraint)
		}},
		{name: "unregistered write operation", method: "POST", url: "/fhir/Observation/1/$meta-add", body: `{"resourceType":"Parameters"}`, scopes: patientAll, patient: A, status: 403},
	})
}

// Counts and existence.
func TestAttackCountsAndExistence(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "_summary=count is narrowed", method: "GET", url: "/fhir/Condition?_summary=count&code=hiv", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "_total=accurate is narrowed", method: "GET", url: "/fhir/Condition?_total=accurate&code=hiv", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
		{name: "count of a type the token may not search", method: "GET", url: "/fhir/Condition?_summary=count", scopes: "patient/Observation.rs", patient: A, status: 403},
		{name: "count across the system", method: "GET", url: "/fhir?_summary=count", scopes: patientAll, patient: A, status: 403},
		{name: "count through _type", method: "GET", url: "/fhir?_type=Condition&_summary=count", scopes: patientAll, patient: A, status: 403},
		{name: "type history", method: "GET", url: "/fhir/Condition/_history", scopes: patientAll, patient: A, status: 403},
		{name: "system history", method: "GET", url: "/fhir/_history?_summary=count", scopes: patientAll, patient: A, status: 403},
		{name: "history of one resource is response-checked", method: "GET", url: "/fhir/Observation/1/_history", scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			require.True(t, d.ResponseIsBundle())
			out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"history","total":3,"entry":[{"resource":` + obsOf123 + `},{"resource":` + obsOf456 + `},{"request":{"method":"DELETE","url":"Observation/1"}}]}`))
			require.NoError(t, err)
			assert.Equal(t, 2, removed)
			assert.NotContains(t, string(out), "456")
		}},
		{name: "vread of B's version is response-checked", method: "GET", url: "/fhir/Observation/1/_history/1", scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.checkRead([]byte(obsOf456)), ErrOutsideCompartment)
			assert.Equal(t, http.StatusNotFound, d.CheckStatus())
		}},
		{name: "existence of B is hidden like a missing Patient", method: "GET", url: "/fhir/Patient/456", scopes: patientAll, patient: A, status: 404},
		{name: "existence of a missing Patient", method: "GET", url: "/fhir/Patient/does-not-exist", scopes: patientAll, patient: A, status: 404},
		{name: "paging replay of another search", method: "GET", url: "/fhir?_getpages=abc&_getpagesoffset=20&_count=50", scopes: patientAll, patient: A, allow: true, check: filtersB},
		{name: "paging token with extra filters", method: "GET", url: "/fhir?_getpages=abc&patient=456", scopes: patientAll, patient: A, status: 400},
		{name: "_elements cannot hide the compartment from the check", method: "GET", url: "/fhir/Observation?_include=*&_elements=id", scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.NotContains(t, d.ApplyTo(url.Values{"_elements": {"id"}}), "_elements")
		}},
		{name: "_format=xml cannot hide the response from the check", method: "GET", url: "/fhir/Observation?_include=*&_format=xml", scopes: patientAll, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.Equal(t, []string{"json"}, d.ApplyTo(url.Values{"_format": {"xml"}})["_format"])
		}},
		{name: "_contained=true", method: "GET", url: "/fhir/Observation?_contained=true", scopes: patientAll, patient: A, status: 400},
		{name: "_contained=both", method: "GET", url: "/fhir/Observation?_contained=both", scopes: patientAll, patient: A, status: 400},
		{name: "_containedType=contained", method: "GET", url: "/fhir/Observation?_containedType=contained", scopes: patientAll, patient: A, status: 400},
		{name: "_list", method: "GET", url: "/fhir/Observation?_list=$current-problems", scopes: patientAll, patient: A, status: 403},
		{name: "_query", method: "GET", url: "/fhir/Observation?_query=everything-of&id=456", scopes: patientAll, patient: A, status: 400},
		{name: "_filter", method: "GET", url: "/fhir/Observation?_filter=subject%20eq%20Patient/456", scopes: patientAll, patient: A, status: 400},
		{name: "_format and _pretty are harmless", method: "GET", url: "/fhir/Observation?_format=json&_pretty=true", scopes: patientAll, patient: A, allow: true, check: narrowedToA},
	})
}

// SMART v2 constrained scopes.
func TestAttackV2Constraints(t *testing.T) {
	const A = "123"
	lab := "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	wantLab := func(t *testing.T, d *Decision) {
		t.Helper()
		assert.Contains(t, d.ApplyTo(nil)["category"], lab)
		narrowedToA(t, d)
	}
	runAttacks(t, []decisionCase{
		{name: "other category is ANDed with the constraint", method: "GET", url: "/fhir/Observation?category=vital-signs", scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "constraint parameter with :not", method: "GET", url: "/fhir/Observation?category:not=" + url.QueryEscape(lab), scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "constraint parameter with :text", method: "GET", url: "/fhir/Observation?category:text=laboratory", scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "constraint value in an OR-list", method: "GET", url: "/fhir/Observation?category=" + url.QueryEscape(lab) + ",vital-signs", scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "constraint value without its system", method: "GET", url: "/fhir/Observation?category=laboratory", scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "constraint parameter case variant", method: "GET", url: "/fhir/Observation?Category=" + url.QueryEscape(lab), scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "constraint in a POST _search form is honoured", method: "POST", url: "/fhir/Observation/_search", body: "category=" + url.QueryEscape(lab), scopes: labOnly, patient: A, allow: true, check: narrowedToA},
		{name: "constraint missing is added", method: "GET", url: "/fhir/Observation?code=x", scopes: labOnly, patient: A, allow: true, check: wantLab},
		{name: "read of a vital-signs Observation", method: "GET", url: "/fhir/Observation/2", scopes: labOnly, patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.checkRead([]byte(vitalOf123)), ErrConstraint)
			assert.ErrorIs(t, d.checkRead([]byte(`{"resourceType":"Observation","subject":{"reference":"Patient/123"},"category":[{"coding":[{"code":"laboratory"}]}],"Category":[]}`)), ErrNotJSON)
			assert.NoError(t, d.checkRead([]byte(obsOf123)))
		}},
		{name: "_has through a constrained type", method: "GET", url: "/fhir/Patient?_has:Observation:subject:code=x", scopes: labOnly + " patient/Patient.rs", patient: A, status: 403},
		{name: "chain through a constrained type", method: "GET", url: "/fhir/DiagnosticReport?result:Observation.code=x", scopes: labOnly + " patient/DiagnosticReport.rs", patient: A, status: 403},
		{name: "revinclude of a constrained type is filtered", method: "GET", url: "/fhir/Patient?_revinclude=Observation:subject", scopes: labOnly + " patient/Patient.rs", patient: A, allow: true, check: func(t *testing.T, d *Decision) {
			out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + patient123 + `},{"resource":` + vitalOf123 + `},{"resource":` + obsOf123 + `}]}`))
			require.NoError(t, err)
			assert.Equal(t, 1, removed)
			assert.NotContains(t, string(out), "vital-signs")
		}},
		{name: "type history under constraints", method: "GET", url: "/fhir/Observation/_history", scopes: "user/Observation.rs?category=laboratory", status: 403},
		{name: "system search of a constrained type", method: "GET", url: "/fhir?_type=Observation", scopes: "user/Observation.rs?category=laboratory", status: 403},
		{name: "export of a constrained type", method: "GET", url: "/fhir/$export?_type=Observation", scopes: "system/Observation.rs?category=laboratory", status: 403},
		{name: "constrained create with a duplicate category key", method: "POST", url: "/fhir/Observation", scopes: "user/Observation.c?category=laboratory", status: 400,
			body: `{"resourceType":"Observation","category":[{"coding":[{"code":"laboratory"}]}],"category":[{"coding":[{"code":"vital-signs"}]}]}`},
		{name: "constrained update to another category", method: "PUT", url: "/fhir/Observation/2", body: `{"resourceType":"Observation","id":"2","category":[{"coding":[{"code":"vital-signs"}]}]}`, scopes: "user/Observation.u?category=laboratory", status: 403},
		{name: "constrained patch of category", method: "PATCH", url: "/fhir/Observation/2", body: `[{"op":"replace","path":"/category/0/coding/0/code","value":"vital-signs"}]`, scopes: "user/Observation.u?category=laboratory", status: 403},
		{name: "constrained update of a stored vital-signs Observation", method: "PUT", url: "/fhir/Observation/2", body: `{"resourceType":"Observation","id":"2","category":[{"coding":[{"code":"laboratory"}]}]}`, scopes: "user/Observation.u?category=laboratory", allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.CheckStored([]byte(vitalOf123)), ErrConstraint)
		}},
		{name: "constraint that widens (an include in the scope)", method: "GET", url: "/fhir/Observation?code=x", scopes: "user/Observation.rs?_revinclude=Provenance:target", status: 403},
		{name: "constraint that pages (a _count in the scope)", method: "GET", url: "/fhir/Observation?code=x", scopes: "user/Observation.rs?_count=1000", status: 403},
		{name: "constraint with a modifier on a read", method: "GET", url: "/fhir/Observation/1", scopes: "user/Observation.rs?category:not=laboratory", status: 403},
	})
}

// System search, bulk export, operations.
func TestAttackSystemAndOperations(t *testing.T) {
	const A = "123"
	runAttacks(t, []decisionCase{
		{name: "system search with patient scopes", method: "GET", url: "/fhir?_type=Observation&patient=123", scopes: patientAll, patient: A, status: 403},
		{name: "system search without _type and narrow user scopes", method: "GET", url: "/fhir?_id=x", scopes: "user/Observation.rs", status: 403},
		{name: "system search with an unpermitted _type", method: "GET", url: "/fhir?_type=Observation,Condition", scopes: "user/Observation.rs", status: 403},
		{name: "system search with a mis-cased _type", method: "GET", url: "/fhir?_type=observation", scopes: "user/*.rs", status: 400},
		{name: "system search POST form with _type", method: "POST", url: "/fhir/_search", body: "_type=Condition", scopes: "user/Observation.rs", status: 403},
		{name: "_type on a type search", method: "GET", url: "/fhir/Observation?_type=Condition", scopes: "user/*.rs", status: 400},
		{name: "export with patient scopes", method: "GET", url: "/fhir/Patient/$export", scopes: patientAll, patient: A, status: 403},
		{name: "export of a Patient group with user scopes", method: "GET", url: "/fhir/Group/g1/$export", scopes: "user/*.*", status: 403},
		{name: "export _typeFilter outside _type", method: "GET", url: "/fhir/$export?_type=Observation&_typeFilter=Condition%3Fcode%3Dx", scopes: "system/*.rs", status: 400},
		{name: "export _type in a Parameters body with a case-variant key", method: "POST", url: "/fhir/$export", scopes: "system/Observation.rs", status: 400,
			body: `{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Observation"}],"Parameter":[{"name":"_type","valueString":"Condition"}]}`},
		{name: "export _type in a Parameters body with duplicate names", method: "POST", url: "/fhir/$export", scopes: "system/Observation.rs", status: 400,
			body: `{"resourceType":"Parameters","parameter":[{"name":"_type","name":"x","valueString":"Condition"}]}`},
		{name: "export _type as a non-primitive", method: "POST", url: "/fhir/$export", scopes: "system/Observation.rs", status: 400,
			body: `{"resourceType":"Parameters","parameter":[{"name":"_type","resource":{"resourceType":"Basic"}}]}`},
		{name: "Patient-level export without _type reaches every type", method: "GET", url: "/fhir/Patient/$export", scopes: "system/Patient.rs system/Observation.rs", status: 403},
		{name: "everything with an unshared _type", method: "GET", url: "/fhir/Patient/123/$everything?_type=Organization", scopes: patientAll, patient: A, status: 403},
		{name: "everything with an unpermitted _type", method: "GET", url: "/fhir/Patient/123/$everything?_type=Condition", scopes: "patient/Patient.rs patient/Observation.rs", patient: A, status: 403},
		{name: "everything of B by POST", method: "POST", url: "/fhir/Patient/456/$everything", body: `{"resourceType":"Parameters"}`, scopes: patientAll, patient: A, status: 404},
		{name: "unregistered system operation", method: "POST", url: "/fhir/$graphql", body: `{}`, scopes: "user/*.*", status: 403},
		{name: "unregistered instance operation", method: "GET", url: "/fhir/Patient/123/$match", scopes: patientAll, patient: A, status: 403},
		{name: "empty operation name", method: "GET", url: "/fhir/Patient/$", scopes: "user/*.*", status: 400},
		{name: "double dollar", method: "GET", url: "/fhir/$$export", scopes: "system/*.*", status: 400},
		{name: "export as a type operation on Observation", method: "GET", url: "/fhir/Observation/$export", scopes: "system/*.*", status: 400},
		{name: "type-level registered non-search operation under patient scopes", method: "GET", url: "/fhir/Observation/$summary", scopes: patientAll, patient: A, status: 403},
		{name: "registered search operation naming B", method: "GET", url: "/fhir/Observation/$lastn?patient=456", scopes: patientAll, patient: A, status: 403},
		{name: "metadata by POST", method: "POST", url: "/fhir/metadata", body: `{}`, noToken: true, status: 400},
		{name: "metadata with a smuggled parameter", method: "GET", url: "/fhir/metadata?_include=*", noToken: true, status: 400},
	})
}

// Hand-built Requests (servers that classify themselves) must not crash
// the decision.
func TestAttackHandBuiltRequests(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, patientAll, "123")
	for name, req := range map[string]*Request{
		"batch with a nil entry":   {Interaction: Batch, Entries: []*Request{nil}},
		"transaction nil entry":    {Interaction: Transaction, Entries: []*Request{{Interaction: Read, ResourceType: "Patient", ID: "123"}, nil}},
		"read without type":        {Interaction: Read},
		"search without params":    {Interaction: SearchType, ResourceType: "Observation"},
		"interaction out of range": {Interaction: Interaction(200), ResourceType: "Observation"},
		"create without body":      {Interaction: Create, ResourceType: "Observation"},
		"update without body":      {Interaction: Update, ResourceType: "Observation", ID: "1"},
		"operation without name":   {Interaction: Operation, Level: InstanceLevel, ResourceType: "Patient", ID: "123"},
	} {
		t.Run(name, func(t *testing.T) {
			var d *Decision
			require.NotPanics(t, func() { d = p.Decide(context.Background(), pr, req) })
			require.NotNil(t, d)
			if name == "batch with a nil entry" {
				require.Len(t, d.Entries, 1)
				assert.False(t, d.Entries[0].Allowed)
			}
			if name == "transaction nil entry" || name == "create without body" || name == "update without body" || name == "interaction out of range" {
				assert.False(t, d.Allowed, d.Reason)
			}
		})
	}
}

// A patient claim that is a dot segment must not become a path or a
// reference that means something else.
func TestAttackPatientClaim(t *testing.T) {
	p := testPolicy(t)
	for _, claim := range []string{".", "..", "123/../456", "Patient/123", "123,456", "", strings.Repeat("9", 65)} {
		t.Run(claim, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, patientAll, claim), "GET", "/fhir/Observation?code=x", "", nil)
			assert.False(t, d.Allowed, "patient claim %q must grant nothing", claim)
		})
	}
}

// Headers that appear twice are read differently by different servers
// (first or last wins): refuse them where the decision depends on them.
func TestAttackDuplicateHeaders(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, patientAll, "123")
	cases := []struct {
		name   string
		method string
		target string
		body   string
		header string
		values []string
	}{
		{"two If-None-Exist headers", "POST", "/fhir/Observation", obsOf123, "If-None-Exist", []string{"identifier=a", "patient=456"}},
		{"two Content-Type headers on a create", "POST", "/fhir/Observation", obsOf123, "Content-Type", []string{"application/fhir+json", "application/fhir+xml"}},
		{"two Content-Type headers on a patch", "PATCH", "/fhir/Observation/1", `[{"op":"replace","path":"/status","value":"final"}]`, "Content-Type", []string{"application/json-patch+json", "application/xml-patch+xml"}},
		{"two Content-Type headers on a POST _search", "POST", "/fhir/Observation/_search", "code=x", "Content-Type", []string{"application/x-www-form-urlencoded", "application/fhir+json"}},
		{"two method overrides", "GET", "/fhir/Observation/1", "", "X-HTTP-Method-Override", []string{"GET", "DELETE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(tc.method, tc.target, tc.body, nil)
			r.Header.Del(tc.header)
			for _, v := range tc.values {
				r.Header.Add(tc.header, v)
			}
			_, d := p.Authorize(context.Background(), pr, r)
			require.False(t, d.Allowed, "allowed: %v", d.Narrow)
			assert.Equal(t, http.StatusBadRequest, d.Status, d.Reason)
		})
	}
}

// Requests built by hand (a router that set URL fields itself) with bytes a
// parsed URL never has.
func TestAttackRawURLFields(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, patientAll, "123")
	for name, u := range map[string]*url.URL{
		"NUL in the path":        {Path: "/fhir/Patient/456\x00"},
		"CRLF in the path":       {Path: "/fhir/Patient/123\r\nX-Injected: 1"},
		"opaque URL":             {Opaque: "/fhir/Patient/456"},
		"raw path disagrees":     {Path: "/fhir/Patient/123", RawPath: "/fhir/Patient/456"},
		"unicode in the path":    {Path: "/fhir/Patient/４５６"},
		"space in the path":      {Path: "/fhir/Patient/123 456"},
		"raw query with NUL key": {Path: "/fhir/Observation", RawQuery: "patient\x00=456"},
		"raw query with CRLF":    {Path: "/fhir/Observation", RawQuery: "code=%0d%0aforged"},
	} {
		t.Run(name, func(t *testing.T) {
			r := &http.Request{Method: "GET", URL: u, Header: http.Header{}}
			_, d := p.Authorize(context.Background(), pr, r)
			if name == "raw query with CRLF" {
				// A narrowed search: allowed; the value is the server's to match.
				require.True(t, d.Allowed, d.Reason)
				return
			}
			require.False(t, d.Allowed)
			assert.Equal(t, http.StatusBadRequest, d.Status)
			assert.NotContains(t, d.Reason, "\n")
			assert.NotContains(t, d.Reason, "\r")
		})
	}
}

// A transaction cannot hold a read whose answer is checked under existence
// hiding: a server failing the whole transaction for a missing resource
// would tell it from a withheld one. It is refused before the server sees
// it, naming the entry, unless an entry is denied outright (that reason is
// the more specific one); a batch, a transaction of writes and searches,
// and a policy without hiding are not affected.
func TestAttackTransactionHiddenRead(t *testing.T) {
	pr := principal(t, "patient/Observation.cruds", "123")
	hide, show := testPolicy(t), testPolicy(t, WithExistenceHiding(false))
	bundle := func(typ string, entries ...string) string {
		return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
	}
	create := `{"request":{"method":"POST","url":"Observation"},"resource":` + noID(obsOf123) + `}`
	read := `{"request":{"method":"GET","url":"Observation/1"}}`
	history := `{"request":{"method":"GET","url":"Observation/1/_history"}}`
	search := `{"request":{"method":"GET","url":"Observation?code=x"}}`
	denied := `{"request":{"method":"GET","url":"Observation?patient=Patient/456"}}`

	for _, entry := range []string{read, history} {
		_, d := authorize(t, hide, pr, "POST", "/fhir", bundle("transaction", create, entry), nil)
		require.False(t, d.Allowed, entry)
		assert.Equal(t, http.StatusForbidden, d.Status)
		assert.Contains(t, d.Reason, "entry 1")
		assert.Contains(t, d.Reason, "send reads in a batch")
	}
	_, d := authorize(t, hide, pr, "POST", "/fhir", bundle("transaction", denied, read), nil)
	require.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "entry 0", "the denied entry is named, not the read")
	for name, c := range map[string]struct {
		p    *Policy
		body string
	}{
		"batch":                    {hide, bundle("batch", create, read)},
		"writes and searches":      {hide, bundle("transaction", create, search)},
		"without existence hiding": {show, bundle("transaction", create, read)},
	} {
		_, d := authorize(t, c.p, pr, "POST", "/fhir", c.body, nil)
		assert.True(t, d.Allowed, "%s: %s", name, d.Reason)
	}
}

// An include names its target type, but a server may ignore it and
// include whatever the reference holds (another patient's Patient behind
// Group.member, a RelatedPerson behind Observation.performer): included
// resources are checked in the response whatever the target type, unless
// the token may search every type outside patient context.
func TestAttackIncludeTargetTypeIgnored(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "launch/patient patient/*.rs", "123")
	for _, u := range []string{
		"/fhir/Group?_include=Group:member:Practitioner",
		"/fhir/Observation?_include=Observation:performer:Practitioner",
		"/fhir/Observation?_include=Observation:focus:Location",
		"/fhir/Encounter?_include:iterate=Encounter:participant:Practitioner",
	} {
		_, d := authorize(t, p, pr, "GET", u, "", nil)
		if d.Allowed {
			assert.True(t, d.NeedsResponseCheck(), "%s: included resources go unchecked", u)
		}
	}
	user := principal(t, "user/Observation.rs user/Practitioner.rs", "")
	_, d := authorize(t, p, user, "GET", "/fhir/Observation?_include=Observation:performer:Practitioner", "", nil)
	require.True(t, d.Allowed, d.Reason)
	assert.True(t, d.NeedsResponseCheck(), "a user/ token that may not read every performer type")
}

// A request body fhirauth must judge is refused when it declares a content
// coding: a server that decodes it would read another document than the
// one judged (a Bundle, an update's compartment, a POST _search form).
// Requests without a judged body, and identity, are not affected.
func TestAttackEncodedRequestBody(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "patient/*.cruds", "123")
	for _, ce := range []string{"gzip", "br", "GZIP", "identity, gzip", "x-gzip"} {
		for _, c := range []struct{ method, target, body string }{
			{"PUT", "/fhir/Observation/1", obsOf123},
			{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[]}`},
			{"POST", "/fhir/Observation/_search", "code=x"},
		} {
			_, d := authorize(t, p, pr, c.method, c.target, c.body, map[string]string{"Content-Encoding": ce})
			require.False(t, d.Allowed, "%s %s with %s", c.method, c.target, ce)
			assert.Equal(t, http.StatusBadRequest, d.Status)
			assert.Equal(t, "not-supported", d.IssueCode)
			assert.Contains(t, d.Reason, "Content-Encoding")
		}
	}
	_, d := authorize(t, p, pr, "PUT", "/fhir/Observation/1", obsOf123, map[string]string{"Content-Encoding": "identity"})
	assert.True(t, d.Allowed, d.Reason)
	_, d = authorize(t, p, pr, "GET", "/fhir/Observation/1", "", map[string]string{"Content-Encoding": "gzip"})
	assert.True(t, d.Allowed, "no body to judge: %s", d.Reason)
}

// A registered search operation runs at type level only: at instance
// level (Patient/456/$lastn) the operation reads the resource its path
// names, which the narrowing added to its parameters does not restrict,
// so such a rule is refused when the policy is built.
func TestAttackInstanceSearchOperation(t *testing.T) {
	for _, levels := range []Level{InstanceLevel, TypeLevel | InstanceLevel, SystemLevel} {
		_, err := NewPolicy(WithOperation(OperationRule{Name: "lastn", Levels: levels, Types: []string{"Observation", "Patient"},
			Permission: scope.Search, Search: true}))
		require.Error(t, err, "levels %v", levels)
		assert.Contains(t, err.Error(), "type level only")
	}
	p := testPolicy(t) // $lastn: a type-level search of Observation
	_, d := authorize(t, p, principal(t, "launch/patient patient/*.rs", "123"), "GET", "/fhir/Observation/$lastn", "", nil)
	require.True(t, d.Allowed, d.Reason)
	assert.Equal(t, []string{"Patient/123"}, d.Narrow["patient"])
}

// An instance history with no entries (_since after the last version, or
// _at before the first) has nothing to check but tells that the resource
// exists: under existence hiding it answers as a missing resource, another
// patient's and the patient's own alike.
func TestAttackEmptyInstanceHistory(t *testing.T) {
	pr := principal(t, "launch/patient patient/*.rs", "123")
	hide, show := testPolicy(t), testPolicy(t, WithExistenceHiding(false))
	_, d := authorize(t, hide, pr, "GET", "/fhir/Observation/1/_history?_since=2999-01-01", "", nil)
	require.True(t, d.Allowed && d.NeedsResponseCheck(), d.Reason)
	for _, body := range []string{
		`{"resourceType":"Bundle","type":"history"}`,
		`{"resourceType":"Bundle","type":"history","total":0,"entry":[]}`,
		`{"resourceType":"Bundle","type":"history","total":0,"entry":[ ]}`,
		`{"resourceType":"Bundle","type":"history","total":0,"entry":null}`,
	} {
		_, _, err := d.CheckResponse(http.StatusOK, []byte(body))
		assert.ErrorIs(t, err, ErrHidden, body)
	}
	own := `{"resourceType":"Bundle","type":"history","entry":[{"resource":` + obsOf123 + `}]}`
	out, _, err := d.CheckResponse(http.StatusOK, []byte(own))
	require.NoError(t, err)
	assert.Contains(t, string(out), "Patient/123")
	_, d = authorize(t, show, pr, "GET", "/fhir/Observation/1/_history?_since=2999-01-01", "", nil)
	_, _, err = d.CheckResponse(http.StatusOK, []byte(`{"resourceType":"Bundle","type":"history"}`))
	assert.NoError(t, err, "without hiding an empty history passes")
}

// A search constraint on a parameter the searched type does not have
// (category on Patient, a misspelt or wrong-case name) cannot be enforced
// by adding it to the query: a server ignores a parameter it does not
// know and searches unfiltered. Such a search is denied, as a read under
// the same constraint is; the type's own parameters still narrow.
func TestAttackSearchConstraintTypeLacks(t *testing.T) {
	p := testPolicy(t)
	for _, c := range []struct{ scopes, target string }{
		{"user/*.rs?category=laboratory", "/fhir/Patient"},
		{"user/Patient.rs?Gender=male", "/fhir/Patient"},
		{"user/Observation.rs?categroy=laboratory", "/fhir/Observation"},
	} {
		pr := principal(t, c.scopes, "")
		_, read := authorize(t, p, pr, "GET", c.target+"/1", "", nil)
		_, search := authorize(t, p, pr, "GET", c.target, "", nil)
		assert.False(t, read.Allowed, "%s read", c.scopes)
		assert.False(t, search.Allowed, "%s search narrowed by %v", c.scopes, search.Narrow)
		assert.Equal(t, http.StatusForbidden, search.Status)
	}
	_, d := authorize(t, p, principal(t, "user/*.rs?category=laboratory", ""), "GET", "/fhir/Observation", "", nil)
	require.True(t, d.Allowed, d.Reason)
	assert.Equal(t, []string{"laboratory"}, d.Narrow["category"])
}

// A constrained search is narrowed by its constraint, but the server may
// not search by it: R4 Flag has a category element and no category search
// parameter, so a lenient server ignores the narrowing and returns
// everything. Such a constraint is not enforceable: search and read are
// denied. Where the type has the parameter, the results are held to the
// constraints in the response too.
func TestAttackConstrainedSearchChecked(t *testing.T) {
	p := testPolicy(t)
	for _, target := range []string{"/fhir/Flag", "/fhir/Flag/9"} {
		_, d := authorize(t, p, principal(t, "user/Flag.rs?category=http://example.org|admin", ""), "GET", target, "", nil)
		assert.False(t, d.Allowed, target)
		assert.Contains(t, d.Reason, "category", target)
	}
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[` +
		`{"resource":{"resourceType":"Flag","id":"9","status":"active","code":{"text":"x"},"subject":{"reference":"Patient/5"},"encounter":{"reference":"Encounter/1"}}},` +
		`{"resource":{"resourceType":"Flag","id":"8","status":"active","code":{"text":"x"},"subject":{"reference":"Patient/5"},"encounter":{"reference":"Encounter/2"}}}]}`
	_, d := authorize(t, p, principal(t, "user/Flag.rs?encounter=Encounter/2", ""), "GET", "/fhir/Flag", "", nil)
	require.True(t, d.Allowed, d.Reason)
	require.True(t, d.NeedsResponseCheck())
	out, removed, err := d.CheckResponse(http.StatusOK, []byte(bundle))
	require.NoError(t, err)
	assert.Equal(t, 1, removed)
	assert.NotContains(t, string(out), `"id":"9"`)
	assert.Contains(t, string(out), `"id":"8"`)
}

// medplum reads a Bundle PATCH entry's Parameters as JSON Patch
// operations in Parameters form: op, path and value, and for copy and
// move a "from" pointer. A move from /subject emptied the subject of the
// token's patient's Observation (out of the compartment, which a patch
// may not change) while fhirauth, reading a FHIRPath Patch, looked only
// at "path".
func TestAttackParametersPatchFrom(t *testing.T) {
	const A = "123"
	op := func(parts string) string {
		return bundle("batch", entry("PATCH", "Observation/1", `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[`+parts+`]}]}`))
	}
	cases := []decisionCase{
		{name: "move from subject", check: entryAllowed(false),
			body: op(`{"name":"op","valueCode":"move"},{"name":"from","valueString":"/subject"},{"name":"path","valueString":"/basedOn"}`)},
		{name: "move from a performer", check: entryAllowed(false),
			body: op(`{"name":"op","valueCode":"move"},{"name":"from","valueString":"/performer/0"},{"name":"path","valueString":"/basedOn"}`)},
		{name: "legit: move between other elements", check: entryAllowed(true),
			body: op(`{"name":"op","valueCode":"move"},{"name":"from","valueString":"/note/0"},{"name":"path","valueString":"/note/1"}`)},
	}
	for i := range cases {
		cases[i].method, cases[i].url, cases[i].scopes, cases[i].patient, cases[i].allow = "POST", "/fhir", patientAll, A, true
	}
	runAttacks(t, cases)
}
