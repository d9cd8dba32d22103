package fhirauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type decisionCase struct {
	name    string
	method  string
	url     string
	body    string
	headers map[string]string
	scopes  string
	patient string
	noToken bool
	policy  *Policy
	allow   bool
	status  int
	reason  string // substring of Decision.Reason
	needed  string // Decision.Needed, when set
	check   func(t *testing.T, d *Decision)
}

func bundle(typ string, entries ...string) string {
	return `{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`
}

func entry(method, url, resource string) string {
	e := `{"request":{"method":"` + method + `","url":"` + url + `"}`
	if resource != "" {
		e += `,"resource":` + resource
	}
	return e + "}"
}

const (
	patientAll = "patient/*.rs patient/*.cud launch/patient"
	labOnly    = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	vitalOnly  = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
)

func narrowIs(key, value string) func(t *testing.T, d *Decision) {
	return func(t *testing.T, d *Decision) {
		t.Helper()
		assert.Equal(t, []string{value}, d.Narrow[key], "narrowing %s", key)
	}
}

func noNarrow(t *testing.T, d *Decision) {
	t.Helper()
	assert.Empty(t, d.Narrow)
	assert.False(t, d.NeedsResponseCheck())
}

func wantResponseCheck(t *testing.T, d *Decision) {
	t.Helper()
	assert.True(t, d.NeedsResponseCheck(), "response check expected")
}

func wantStoredCheck(t *testing.T, d *Decision) {
	t.Helper()
	assert.True(t, d.NeedsStoredCheck(), "stored-version check expected")
}

func decisionCases(t *testing.T) []decisionCase {
	noHide := testPolicy(t, WithExistenceHiding(false))
	hook := testPolicy(t, WithUserRule(func(_ context.Context, _ *tokenPrincipal, r *Request) error {
		if r.ResourceType == "Patient" && r.ID == "vip" {
			return errors.New("VIP records need break-the-glass")
		}
		return nil
	}))
	return []decisionCase{
		// Public endpoints and authentication.
		{name: "capabilities is public", method: "GET", url: "/fhir/metadata", noToken: true, allow: true},
		{name: "smart configuration is public", method: "GET", url: "/fhir/.well-known/smart-configuration", noToken: true, allow: true},
		{name: "no token is 401", method: "GET", url: "/fhir/Patient/1", noToken: true, status: 401, reason: "access token"},
		{name: "no resource scopes", method: "GET", url: "/fhir/Patient/1", scopes: "openid fhirUser", status: 403, reason: "do not permit read on Patient", needed: "user/Patient.r"},

		// Letters per interaction (user/ scopes).
		{name: "v1 read permits read", method: "GET", url: "/fhir/Patient/1", scopes: "user/Patient.read", allow: true, check: noNarrow},
		{name: "read scope does not permit search on another type", method: "GET", url: "/fhir/Observation?code=1", scopes: "user/Patient.read", status: 403,
			reason: "scopes user/Patient.read do not permit search on Observation; needs user/Observation.s or user/Observation.read", needed: "user/Observation.s"},
		{name: "v2 r does not permit search", method: "GET", url: "/fhir/Patient?name=x", scopes: "user/Patient.r", status: 403, needed: "user/Patient.s"},
		{name: "v2 s does not permit read", method: "GET", url: "/fhir/Patient/1", scopes: "user/Patient.s", status: 403, needed: "user/Patient.r"},
		{name: "create needs c", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), scopes: "user/Observation.c", allow: true},
		{name: "read scope cannot create", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), scopes: "user/Observation.read", status: 403, needed: "user/Observation.c", reason: "or user/Observation.write"},
		{name: "update with u only checks update-as-create", method: "PUT", url: "/fhir/Observation/1", body: obsOf123, scopes: "user/Observation.u", allow: true, check: func(t *testing.T, d *Decision) {
			wantStoredCheck(t, d)
			assert.ErrorIs(t, d.CheckStored(nil), ErrConstraint, "update-as-create without c")
			assert.NoError(t, d.CheckStored([]byte(obsOf456)))
		}},
		{name: "update with cu may create", method: "PUT", url: "/fhir/Observation/1", body: obsOf123, scopes: "user/Observation.cu", allow: true, check: func(t *testing.T, d *Decision) {
			assert.False(t, d.NeedsStoredCheck())
		}},
		{name: "delete needs d", method: "DELETE", url: "/fhir/Observation/1", scopes: "user/Observation.d", allow: true},
		{name: "conditional delete also needs s", method: "DELETE", url: "/fhir/Observation?identifier=x", scopes: "user/Observation.d", status: 403, needed: "user/Observation.ds"},
		{name: "conditional create also needs s", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), headers: map[string]string{"If-None-Exist": "identifier=a|1"}, scopes: "user/Observation.c", status: 403, needed: "user/Observation.cs"},
		{name: "conditional create with cs", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), headers: map[string]string{"If-None-Exist": "identifier=a|1"}, scopes: "user/Observation.cs", allow: true},
		{name: "vread needs r", method: "GET", url: "/fhir/Observation/1/_history/2", scopes: "user/Observation.r", allow: true},
		{name: "instance history needs r", method: "GET", url: "/fhir/Observation/1/_history", scopes: "user/Observation.r", allow: true},
		{name: "type history needs s", method: "GET", url: "/fhir/Observation/_history", scopes: "user/Observation.r", status: 403, needed: "user/Observation.s"},
		{name: "system history needs every type", method: "GET", url: "/fhir/_history", scopes: "user/Observation.read", status: 403},
		{name: "system history with wildcard", method: "GET", url: "/fhir/_history", scopes: "user/*.read", allow: true},
		{name: "v1 write is cud, not read", method: "GET", url: "/fhir/Observation/1", scopes: "user/Observation.write", status: 403},
		{name: "patch needs u and r", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/status","value":"final"}]`, scopes: "user/Observation.ru", allow: true},
		{name: "patch without r: its answer would read the resource", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"test","path":"/status","value":"final"}]`, scopes: "user/Observation.u", status: 403, needed: "user/Observation.ru"},
		{name: "v1 write cannot patch", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"test","path":"/status","value":"final"}]`, scopes: "user/Observation.write", status: 403},
		{name: "v1 read and write can patch", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/status","value":"final"}]`, scopes: "user/Observation.read user/Observation.write", allow: true},

		// include leak
		{name: "include leak: typed include of an unpermitted type", method: "GET", url: "/fhir/Observation?_include=Observation:subject:Patient", scopes: "user/Observation.rs", status: 403, needed: "user/Patient.s", reason: "_include=Observation:subject:Patient"},
		{name: "include of permitted types is checked: a server may ignore its target type", method: "GET", url: "/fhir/Observation?_include=Observation:subject:Patient", scopes: "user/Observation.rs user/Patient.rs", allow: true, check: wantResponseCheck},
		{name: "typed include with a wildcard scope needs no check", method: "GET", url: "/fhir/Observation?_include=Observation:subject:Patient", scopes: "user/*.rs", allow: true, check: noNarrow},
		{name: "include leak: untyped include reaches any type", method: "GET", url: "/fhir/Observation?_include=Observation:subject", scopes: "user/Observation.rs user/Patient.rs", status: 403, reason: "any type"},
		{name: "wildcard include with wildcard scope needs no check: any type may be searched", method: "GET", url: "/fhir/Observation?_include=*", scopes: "user/*.rs", allow: true, check: noNarrow},
		{name: "wildcard include with wildcard scope and a constrained one needs no check", method: "GET", url: "/fhir/Observation?_include=*", scopes: "user/*.rs user/Observation.rs?category=laboratory", allow: true, check: noNarrow},
		{name: "wildcard include with a constrained wildcard scope is checked", method: "GET", url: "/fhir/Observation?_include=*&category=laboratory", scopes: "user/*.rs?category=laboratory", allow: true, check: wantResponseCheck},
		{name: "wildcard include with wildcard scope under patient context is checked", method: "GET", url: "/fhir/Observation?_include=*", scopes: patientAll, patient: "123", allow: true, check: wantResponseCheck},
		{name: "include leak: revinclude of an unpermitted type", method: "GET", url: "/fhir/Patient?_revinclude=Observation:subject", scopes: "user/Patient.rs", status: 403, needed: "user/Observation.s"},
		{name: "include leak: POST _search form body is checked too", method: "POST", url: "/fhir/Observation/_search", body: "code=1&_include=Observation:patient", scopes: "user/Observation.rs", status: 403, needed: "user/Patient.s"},
		{name: "include leak: iterate include", method: "GET", url: "/fhir/Observation?_include:iterate=Observation:has-member:Observation&_include:iterate=Observation:performer:Practitioner", scopes: "user/Observation.rs", status: 403, needed: "user/Practitioner.s"},
		{name: "patient include is filtered in the response", method: "GET", url: "/fhir/Observation?_include=Observation:patient", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			wantResponseCheck(t, d)
			narrowIs("patient", "Patient/123")(t, d)
		}},
		{name: "include leak: revinclude from a shared type under patient scopes", method: "GET", url: "/fhir/Practitioner?_revinclude=Observation:performer", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			wantResponseCheck(t, d)
			out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"searchset","total":2,"entry":[{"resource":` + practBody + `},{"resource":` + obsOf456 + `},{"resource":` + obsOf123 + `}]}`))
			require.NoError(t, err)
			assert.Equal(t, 1, removed)
			assert.NotContains(t, string(out), "Patient/456")
			assert.NotContains(t, string(out), `"total"`)
			assert.Contains(t, string(out), `"Practitioner"`)
		}},
		{name: "include leak: unshared type under patient scopes", method: "GET", url: "/fhir/Encounter?_include=Encounter:service-provider:Organization", scopes: patientAll, patient: "123", status: 403, reason: "Organization"},

		// OR-list smuggle and other patients.
		{name: "OR-list smuggle: patient=A,B", method: "GET", url: "/fhir/Observation?patient=123,456", scopes: patientAll, patient: "123", status: 403, reason: "OR-list"},
		{name: "OR-list smuggle: repeated parameter", method: "GET", url: "/fhir/Observation?patient=123&patient=456", scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "OR-list smuggle: _id list on Patient", method: "GET", url: "/fhir/Patient?_id=123,456", scopes: patientAll, patient: "123", status: 403, reason: "OR-list"},
		{name: "other patient by reference", method: "GET", url: "/fhir/Observation?subject=Patient/456", scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "own patient by reference", method: "GET", url: "/fhir/Observation?subject=Patient/123", scopes: patientAll, patient: "123", allow: true, check: narrowIs("patient", "Patient/123")},
		{name: "typical patient search is narrowed", method: "GET", url: "/fhir/Observation?patient=123&_count=50", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			narrowIs("patient", "Patient/123")(t, d)
			assert.False(t, d.NeedsResponseCheck())
			assert.Equal(t, "patient", d.Context.String())
		}},
		{name: "search without patient parameter is narrowed", method: "GET", url: "/fhir/Condition?code=x", scopes: patientAll, patient: "123", allow: true, check: narrowIs("patient", "Patient/123")},
		{name: "other reference type in a compartment parameter", method: "GET", url: "/fhir/Observation?subject=Group/7", scopes: patientAll, patient: "123", status: 403, reason: "another reference type"},
		{name: "practitioner in performer is another reference type", method: "GET", url: "/fhir/Observation?performer=Practitioner/1", scopes: patientAll, patient: "123", status: 403, reason: "another reference type"},
		{name: "identifier modifier on a patient parameter", method: "GET", url: "/fhir/Observation?subject:identifier=urn:nhs|999", scopes: patientAll, patient: "123", status: 403, reason: "modifier"},
		{name: "missing modifier on a patient parameter", method: "GET", url: "/fhir/Observation?patient:missing=true", scopes: patientAll, patient: "123", status: 403, reason: "modifier"},
		{name: "Patient search narrowed by _id", method: "GET", url: "/fhir/Patient?name=smith", scopes: patientAll, patient: "123", allow: true, check: narrowIs("_id", "123")},
		{name: "other patient named in a non-compartment parameter", method: "GET", url: "/fhir/Encounter?participant=Patient/456", scopes: patientAll, patient: "123", status: 403, reason: "another patient"},

		// chained oracle
		{name: "chained oracle: chain into an unpermitted type", method: "GET", url: "/fhir/Observation?subject:Patient.name=smith", scopes: "user/Observation.rs", status: 403, needed: "user/Patient.s"},
		{name: "chain into a permitted type", method: "GET", url: "/fhir/Observation?subject:Patient.name=smith", scopes: "user/Observation.rs user/Patient.rs", allow: true},
		{name: "chained oracle: untyped chain is refused", method: "GET", url: "/fhir/Observation?subject.name=smith", scopes: "user/*.rs", status: 400, reason: "must name the type"},
		{name: "patient chain needs no type", method: "GET", url: "/fhir/Observation?patient.name=smith", scopes: "user/Observation.rs user/Patient.rs", allow: true},
		{name: "chained oracle: compartment parameter through Group", method: "GET", url: "/fhir/Observation?subject:Group.name=x", scopes: patientAll, patient: "123", status: 403, reason: "another reference type"},
		{name: "chained oracle: through an unshared type", method: "GET", url: "/fhir/Observation?encounter:Encounter.service-provider:Organization.name=x", scopes: patientAll, patient: "123", status: 403, reason: "Organization"},
		{name: "chained oracle: multi-hop chain needs every hop", method: "GET", url: "/fhir/Observation?encounter:Encounter.service-provider:Organization.name=x", scopes: "user/Observation.rs user/Encounter.rs", status: 403, needed: "user/Organization.s"},

		// _has oracle
		{name: "_has oracle: practitioners by other patients' observations", method: "GET", url: "/fhir/Practitioner?_has:Observation:performer:code=1234", scopes: patientAll, patient: "123", status: 403, reason: "_has oracle"},
		{name: "_has on the patient through a compartment parameter", method: "GET", url: "/fhir/Patient?_has:Observation:patient:code=1234", scopes: patientAll, patient: "123", allow: true, check: narrowIs("_id", "123")},
		{name: "_has oracle: nested reverse chain", method: "GET", url: "/fhir/Patient?_has:Observation:patient:_has:AuditEvent:entity:agent=x", scopes: patientAll, patient: "123", status: 403, reason: "_has oracle"},
		{name: "_has oracle: needs search on the _has type", method: "GET", url: "/fhir/Patient?_has:Observation:patient:code=1", scopes: "user/Patient.rs", status: 403, needed: "user/Observation.s"},
		{name: "_has oracle: non-compartment reference parameter", method: "GET", url: "/fhir/Patient?_has:Observation:focus:code=1", scopes: patientAll, patient: "123", status: 403, reason: "_has oracle"},

		// transaction smuggle and Bundles.
		{name: "transaction smuggle: one denied entry denies all", method: "POST", url: "/fhir", scopes: patientAll, patient: "123",
			body: bundle("transaction", entry("GET", "Observation?code=1", ""), entry("PUT", "Patient/456", patient456)), status: 403, reason: "entry 1"},
		{name: "batch: denied entries only", method: "POST", url: "/fhir", scopes: patientAll, patient: "123",
			body: bundle("batch", entry("GET", "Observation?code=1", ""), entry("PUT", "Patient/456", patient456)), allow: true, reason: "1 of 2", check: func(t *testing.T, d *Decision) {
				require.Len(t, d.Entries, 2)
				assert.True(t, d.Entries[0].Allowed)
				narrowIs("patient", "Patient/123")(t, d.Entries[0])
				assert.False(t, d.Entries[1].Allowed)
				assert.Equal(t, 403, d.Entries[1].Status)
			}},
		{name: "transaction smuggle: create for another patient", method: "POST", url: "/fhir", scopes: patientAll, patient: "123",
			body: bundle("transaction", entry("POST", "Observation", noID(obsOf123)), entry("POST", "Observation", obsOf456)), status: 403, reason: "another patient"},
		{name: "transaction smuggle: absolute entry URL", method: "POST", url: "/fhir", scopes: "user/*.*",
			body: bundle("transaction", entry("GET", "http://evil.example/fhir/Patient/1", "")), status: 400, reason: "relative"},
		{name: "transaction smuggle: nested Bundle", method: "POST", url: "/fhir", scopes: "user/*.*",
			body: bundle("transaction", entry("POST", "Bundle", bundle("transaction"))), status: 400, reason: "nested"},
		{name: "transaction smuggle: dot segments in an entry", method: "POST", url: "/fhir", scopes: "user/*.*",
			body: bundle("transaction", entry("GET", "Patient/../Observation", "")), status: 400, reason: "dot segment"},
		{name: "transaction smuggle: case-variant Bundle type", method: "POST", url: "/fhir", scopes: "user/*.*",
			body: `{"resourceType":"Bundle","type":"batch","TYPE":"transaction","entry":[]}`, status: 400, reason: "case-variant"},
		{name: "transaction smuggle: duplicate request method", method: "POST", url: "/fhir", scopes: "user/*.*",
			body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","method":"DELETE","url":"Patient/1"}}]}`, status: 400, reason: "duplicate"},
		{name: "POST to base with a collection Bundle", method: "POST", url: "/fhir", scopes: "user/*.*", body: bundle("collection"), status: 400, reason: "batch or transaction"},
		{name: "transaction smuggle: encoded entry path", method: "POST", url: "/fhir", scopes: "user/*.*",
			body: bundle("batch", entry("GET", "Patient/1%2F..%2F2", "")), status: 400, reason: "percent-encoded"},
		{name: "transaction with permitted entries", method: "POST", url: "/fhir", scopes: patientAll, patient: "123",
			body: bundle("transaction", entry("POST", "Observation", noID(obsOf123)), entry("GET", "Patient/123", "")), allow: true},

		// update hijack
		{name: "update hijack: another Patient", method: "PUT", url: "/fhir/Patient/456", body: patient456, scopes: patientAll, patient: "123", status: 403, reason: "other than the token's patient"},
		{name: "update hijack: body moved to another patient", method: "PUT", url: "/fhir/Observation/1", body: obsOf456, scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "update hijack: body also names another patient", method: "PUT", url: "/fhir/Observation/1", body: obsBoth, scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "update hijack: stored version of another patient", method: "PUT", url: "/fhir/Observation/1", body: obsOf123, scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			wantStoredCheck(t, d)
			assert.ErrorIs(t, d.CheckStored([]byte(obsOf456)), ErrOutsideCompartment)
			assert.ErrorIs(t, d.CheckStored([]byte(obsBoth)), ErrOutsideCompartment)
			assert.NoError(t, d.CheckStored([]byte(obsOf123)))
		}},
		{name: "update hijack: patient scopes never create Patients", method: "POST", url: "/fhir/Patient", body: patient456, scopes: patientAll, patient: "123", status: 403, reason: "never create Patient"},
		{name: "update hijack: linking the own Patient to another", method: "PUT", url: "/fhir/Patient/123", body: `{"resourceType":"Patient","id":"123","link":[{"other":{"reference":"Patient/456"},"type":"seealso"}]}`, scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "own Patient update", method: "PUT", url: "/fhir/Patient/123", body: patient123, scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.CheckStored(nil), ErrConstraint, "patient/ scopes never create Patients, not even by update")
		}},
		{name: "update hijack: JSON Patch moving the subject", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/subject/reference","value":"Patient/456"}]`, scopes: patientAll, patient: "123", status: 403, reason: "subject"},
		{name: "update hijack: JSON Patch replacing the root", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"","value":{}}]`, scopes: patientAll, patient: "123", status: 403, reason: "whole resource"},
		{name: "update hijack: FHIRPath Patch adding a performer", method: "PATCH", url: "/fhir/Observation/1", scopes: patientAll, patient: "123", status: 403, reason: "performer",
			body: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Observation"},{"name":"name","valueString":"performer"},{"name":"value","valueReference":{"reference":"Patient/456"}}]}]}`},
		{name: "JSON Patch of a harmless element", method: "PATCH", url: "/fhir/Observation/1", body: `[{"op":"replace","path":"/status","value":"amended"}]`, scopes: patientAll, patient: "123", allow: true, check: wantStoredCheck},
		{name: "update hijack: type confusion in the body", method: "PUT", url: "/fhir/Observation/1", body: patient456, scopes: "user/Observation.cu", status: 400, reason: "URL names Observation"},
		{name: "update hijack: id confusion in the body", method: "PUT", url: "/fhir/Observation/2", body: obsOf123, scopes: "user/Observation.cu", status: 400, reason: "differs"},
		{name: "delete under patient scopes checks the stored version", method: "DELETE", url: "/fhir/Observation/1", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.CheckStored([]byte(obsOf456)), ErrOutsideCompartment)
		}},
		{name: "update hijack: delete another Patient", method: "DELETE", url: "/fhir/Patient/456", scopes: patientAll, patient: "123", status: 403},

		// path traversal
		{name: "path traversal: raw dot segments", method: "GET", url: "/fhir/Patient/123/../456", scopes: "user/*.*", status: 400, reason: "dot segment"},
		{name: "path traversal: encoded dots", method: "GET", url: "/fhir/Patient/123/%2e%2e/456", scopes: "user/*.*", status: 400, reason: "percent-encoded"},
		{name: "path traversal: encoded slash", method: "GET", url: "/fhir/Patient%2F456", scopes: "user/*.*", status: 400, reason: "percent-encoded"},
		{name: "path traversal: empty segment", method: "GET", url: "/fhir//Patient/1", scopes: "user/*.*", status: 400, reason: "empty path segment"},
		{name: "path traversal: matrix parameter", method: "GET", url: "/fhir/Patient/123;x=1", scopes: "user/*.*", status: 400},
		{name: "path traversal: outside the base", method: "GET", url: "/fhirx/Patient/1", scopes: "user/*.*", status: 400, reason: "not under the FHIR base"},
		{name: "path traversal: trailing slash", method: "GET", url: "/fhir/Patient/1/", scopes: "user/*.*", status: 400, reason: "empty path segment"},
		{name: "path traversal: semicolon in query", method: "GET", url: "/fhir/Observation?patient=123;patient=456", scopes: patientAll, patient: "123", status: 400, reason: "malformed query"},

		// case confusion
		{name: "case confusion: lower-case type", method: "GET", url: "/fhir/observation", scopes: "user/*.*", status: 400, reason: "case-sensitive"},
		{name: "case confusion: upper-case type", method: "GET", url: "/fhir/OBSERVATION?patient=123", scopes: "user/*.*", status: 400, reason: "case-sensitive"},
		{name: "case confusion: include source type", method: "GET", url: "/fhir/Observation?_include=observation:subject:Patient", scopes: "user/*.*", status: 400, reason: "case-sensitive"},
		{name: "case confusion: compartment search type", method: "GET", url: "/fhir/Patient/123/observation", scopes: patientAll, patient: "123", status: 400},
		{name: "case confusion: resourceType key variant", method: "POST", url: "/fhir/Observation", body: `{"resourcetype":"Patient","resourceType":"Observation","subject":{"reference":"Patient/123"}}`, scopes: "user/*.*", status: 400, reason: "not a FHIR resource"},

		// export with patient scopes
		{name: "export with patient scopes", method: "GET", url: "/fhir/$export", scopes: patientAll, patient: "123", status: 403, reason: "needs system/ scopes"},
		{name: "export with user scopes", method: "GET", url: "/fhir/Patient/$export", scopes: "user/*.read", status: 403, reason: "needs system/ scopes"},
		{name: "export with system scopes", method: "GET", url: "/fhir/$export", scopes: "system/*.read", allow: true},
		{name: "export _type within the permitted types", method: "GET", url: "/fhir/$export?_type=Observation", scopes: "system/Observation.rs", allow: true},
		{name: "export _type outside the permitted types", method: "GET", url: "/fhir/$export?_type=Observation,Patient", scopes: "system/Observation.rs", status: 403, needed: "system/Patient.rs"},
		{name: "export without _type needs every type", method: "GET", url: "/fhir/$export", scopes: "system/Observation.rs", status: 403},
		{name: "group export", method: "GET", url: "/fhir/Group/g1/$export?_type=Observation", scopes: "system/Observation.rs system/Group.r", allow: true},
		{name: "export _type in a Parameters body", method: "POST", url: "/fhir/$export", scopes: "system/Observation.rs",
			body: `{"resourceType":"Parameters","parameter":[{"name":"_type","valueString":"Observation,Patient"}]}`, status: 403, needed: "system/Patient.rs"},

		// count leak
		{name: "count leak: _summary=count is narrowed", method: "GET", url: "/fhir/Observation?_summary=count", scopes: patientAll, patient: "123", allow: true, check: narrowIs("patient", "Patient/123")},
		{name: "count leak: type history count", method: "GET", url: "/fhir/Observation/_history?_summary=count", scopes: patientAll, patient: "123", status: 403, reason: "history"},
		{name: "count leak: system search count", method: "GET", url: "/fhir?_type=Observation&_summary=count", scopes: patientAll, patient: "123", status: 403, reason: "system-wide"},
		{name: "count leak: count of an unpermitted type", method: "GET", url: "/fhir/Observation?_summary=count", scopes: "user/Patient.rs", status: 403, needed: "user/Observation.s"},
		{name: "count leak: _total with a response-checked include", method: "GET", url: "/fhir/Observation?_total=accurate&_include=Observation:patient", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			out, _, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"searchset","total":99,"entry":[]}`))
			require.NoError(t, err)
			assert.NotContains(t, string(out), "99")
		}},
		{name: "invalid _summary", method: "GET", url: "/fhir/Observation?_summary=bogus", scopes: "user/*.*", status: 400},

		// paging replay
		{name: "paging replay: another patient's next link", method: "GET", url: "/fhir/Observation?patient=456&_count=20&_offset=40", scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "paging replay: own next link", method: "GET", url: "/fhir/Observation?patient=123&_count=20&_offset=40", scopes: patientAll, patient: "123", allow: true},
		{name: "paging replay: opaque continuation is filtered", method: "GET", url: "/fhir?_getpages=abc&_getpagesoffset=20", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"searchset","total":3,"entry":[{"resource":` + obsOf123 + `},{"resource":` + obsOf456 + `},{"request":{"method":"DELETE","url":"Observation/5"}}]}`))
			require.NoError(t, err)
			assert.Equal(t, 2, removed)
			assert.Contains(t, string(out), "Patient/123")
			assert.NotContains(t, string(out), "Patient/456")
		}},
		{name: "paging replay: continuation without resource scopes", method: "GET", url: "/fhir?_getpages=abc", scopes: "openid", status: 403},

		// patient context
		{name: "patient scopes without patient claim grant nothing", method: "GET", url: "/fhir/Observation?code=1", scopes: patientAll, status: 403, reason: "patient launch context"},
		{name: "read by id gets a response check", method: "GET", url: "/fhir/Observation/1", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			wantResponseCheck(t, d)
			assert.NoError(t, d.checkRead([]byte(obsOf123)))
			assert.ErrorIs(t, d.checkRead([]byte(obsOf456)), ErrOutsideCompartment)
			assert.ErrorIs(t, d.checkRead([]byte(patient123)), ErrConstraint, "wrong type")
			assert.ErrorIs(t, d.checkRead([]byte(`<Observation/>`)), ErrNotJSON)
			assert.Equal(t, http.StatusNotFound, d.CheckStatus())
		}},
		{name: "another Patient is hidden", method: "GET", url: "/fhir/Patient/456", scopes: patientAll, patient: "123", status: 404},
		{name: "another Patient is forbidden without hiding", method: "GET", url: "/fhir/Patient/456", scopes: patientAll, patient: "123", policy: noHide, status: 403},
		{name: "own Patient needs no check", method: "GET", url: "/fhir/Patient/123", scopes: patientAll, patient: "123", allow: true, check: noNarrow},
		{name: "unshared type under patient scopes", method: "GET", url: "/fhir/Organization/7", scopes: patientAll, patient: "123", status: 403, reason: "not in the patient compartment"},
		{name: "shared type under patient scopes", method: "GET", url: "/fhir/Practitioner/9", scopes: patientAll, patient: "123", allow: true, check: noNarrow},
		{name: "compartment search of another patient", method: "GET", url: "/fhir/Patient/456/Observation", scopes: patientAll, patient: "123", status: 404},
		{name: "compartment search of the own patient", method: "GET", url: "/fhir/Patient/123/Observation?code=1", scopes: patientAll, patient: "123", allow: true},
		{name: "compartment search of every type", method: "GET", url: "/fhir/Patient/123/*", scopes: patientAll, patient: "123", allow: true},
		{name: "compartment search of every type needs every type", method: "GET", url: "/fhir/Patient/123/*", scopes: "patient/Observation.rs", patient: "123", status: 403},
		{name: "everything of the own patient is filtered", method: "GET", url: "/fhir/Patient/123/$everything", scopes: patientAll, patient: "123", allow: true, check: wantResponseCheck},
		{name: "everything of another patient", method: "GET", url: "/fhir/Patient/456/$everything", scopes: patientAll, patient: "123", status: 404},
		{name: "system scopes are not narrowed", method: "GET", url: "/fhir/Observation?code=1", scopes: "system/Observation.rs", patient: "123", allow: true, check: noNarrow},
		{name: "user scopes win over patient scopes", method: "GET", url: "/fhir/Observation?code=1", scopes: "user/Observation.rs patient/Observation.rs", patient: "123", allow: true, check: noNarrow},
		{name: "patient create in the compartment", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), scopes: patientAll, patient: "123", allow: true},
		{name: "patient conditional create narrows If-None-Exist", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), headers: map[string]string{"If-None-Exist": "identifier=a|1"}, scopes: patientAll, patient: "123", allow: true, check: narrowIs("patient", "Patient/123")},
		{name: "patient conditional update naming another patient", method: "PUT", url: "/fhir/Observation?patient=456&identifier=a|1", body: obsOf123, scopes: patientAll, patient: "123", status: 403, reason: "another patient"},
		{name: "_list under patient scopes", method: "GET", url: "/fhir/Observation?_list=42", scopes: patientAll, patient: "123", status: 403, reason: "List"},

		// SMART v2 constraints.
		{name: "constraint is added to a search", method: "GET", url: "/fhir/Observation?code=x", scopes: labOnly, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			narrowIs("category", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory")(t, d)
			narrowIs("patient", "Patient/123")(t, d)
		}},
		{name: "constraint on a read is a response check", method: "GET", url: "/fhir/Observation/1", scopes: labOnly, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			assert.NoError(t, d.checkRead([]byte(obsOf123)))
			assert.ErrorIs(t, d.checkRead([]byte(vitalOf123)), ErrConstraint)
		}},
		{name: "alternatives on one parameter become an OR-list", method: "GET", url: "/fhir/Observation?code=x", scopes: labOnly + " " + vitalOnly, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			require.Len(t, d.Narrow["category"], 1)
			assert.Contains(t, d.Narrow["category"][0], "|laboratory,")
		}},
		{name: "alternatives on different parameters are refused", method: "GET", url: "/fhir/Observation?code=x", scopes: labOnly + " patient/Observation.rs?status=final", patient: "123", status: 403, reason: "alternative constraints"},
		{name: "an alternative already in the query is enough", method: "GET", url: "/fhir/Observation?status=final", scopes: labOnly + " patient/Observation.rs?status=final", patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			assert.Nil(t, d.Narrow["category"])
			assert.Nil(t, d.Narrow["status"])
		}},
		{name: "unenforceable constraint on a read", method: "GET", url: "/fhir/Observation/1", scopes: "patient/Observation.rs?date=ge2020", patient: "123", status: 403, reason: "cannot be enforced"},
		{name: "constrained create with a matching body", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), scopes: "user/Observation.c?category=laboratory", allow: true},
		{name: "constrained create with another body", method: "POST", url: "/fhir/Observation", body: noID(vitalOf123), scopes: "user/Observation.c?category=laboratory", status: 403, reason: "does not satisfy"},
		{name: "constrained include is filtered", method: "GET", url: "/fhir/Observation?_include=Observation:has-member:Observation&category=laboratory", scopes: "user/Observation.rs?category=laboratory", allow: true, check: func(t *testing.T, d *Decision) {
			out, removed, err := d.filterBundle([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + obsOf123 + `},{"resource":` + vitalOf123 + `}]}`))
			require.NoError(t, err)
			assert.Equal(t, 1, removed)
			assert.NotContains(t, string(out), "vital-signs")
		}},
		{name: "chain through a constrained type", method: "GET", url: "/fhir/DiagnosticReport?result:Observation.code=x", scopes: "user/DiagnosticReport.rs user/Observation.rs?category=laboratory", status: 403, reason: "cannot be enforced"},

		// operations
		{name: "unregistered operation", method: "POST", url: "/fhir/Observation/$validate", body: obsOf123, scopes: "user/*.*", status: 403, reason: "not allowed by this server's policy"},
		{name: "registered search operation is narrowed", method: "GET", url: "/fhir/Observation/$lastn?code=x", scopes: patientAll, patient: "123", allow: true, check: narrowIs("patient", "Patient/123")},
		{name: "registered operation at another level", method: "GET", url: "/fhir/$lastn", scopes: "user/*.*", status: 403, reason: "level"},
		{name: "registered instance operation checks the stored resource", method: "GET", url: "/fhir/Observation/1/$summary", scopes: patientAll, patient: "123", allow: true, check: func(t *testing.T, d *Decision) {
			assert.ErrorIs(t, d.CheckStored([]byte(obsOf456)), ErrOutsideCompartment)
		}},

		// user rule
		{name: "user rule denies", method: "GET", url: "/fhir/Patient/vip", scopes: "user/Patient.read", policy: hook, status: 403, reason: "break-the-glass"},
		{name: "user rule allows", method: "GET", url: "/fhir/Patient/p1", scopes: "user/Patient.read", policy: hook, allow: true},

		// unsupported
		{name: "_filter is refused", method: "GET", url: "/fhir/Observation?_filter=code+eq+x", scopes: "user/*.*", status: 400, reason: "_filter"},
		{name: "_query is refused", method: "GET", url: "/fhir/Observation?_query=mine", scopes: "user/*.*", status: 400},
		{name: "_contained is refused", method: "GET", url: "/fhir/Observation?_contained=true", scopes: "user/*.*", status: 400},
		{name: "unknown control parameter", method: "GET", url: "/fhir/Observation?_bogus=1", scopes: "user/*.*", status: 400, reason: "unknown control parameter"},
		{name: "XML body is not supported", method: "POST", url: "/fhir/Observation", body: `<Observation xmlns="http://hl7.org/fhir"/>`, headers: map[string]string{"Content-Type": "application/fhir+xml"}, scopes: "user/*.*", status: 400, reason: "only FHIR JSON"},
		{name: "unknown parameter on a read", method: "GET", url: "/fhir/Observation/1?_include=Observation:subject", scopes: "user/*.*", status: 400},
		{name: "oversized body", method: "POST", url: "/fhir/Observation", body: noID(obsOf123), policy: testPolicy(t, WithMaxBodySize(16)), scopes: "user/*.*", status: 413},
	}
}

func TestDecide(t *testing.T) {
	def := testPolicy(t)
	cases := decisionCases(t)
	require.GreaterOrEqual(t, len(cases), 80)
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
				assert.Equal(t, http.StatusOK, d.Status)
			} else {
				require.False(t, d.Allowed, "expected deny; got allow (context %v, narrow %v)", d.Context, d.Narrow)
				assert.Equal(t, tc.status, d.Status, "status; reason: %s", d.Reason)
				assert.NotEmpty(t, d.Reason)
				assert.NotEmpty(t, d.IssueCode)
			}
			if tc.reason != "" {
				assert.Contains(t, d.Reason, tc.reason)
			}
			if tc.needed != "" {
				assert.Equal(t, tc.needed, d.Needed)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func TestDenialPrefersTheContextThatGotFurthest(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Observation.rs patient/Patient.rs", "123")
	_, d := authorize(t, p, pr, "GET", "/fhir/Observation?_include=Observation:subject:Patient", "", nil)
	require.False(t, d.Allowed)
	assert.Equal(t, "user/Patient.s", d.Needed, d.Reason)

	_, d = authorize(t, p, principal(t, "patient/*.rs", "123"), "GET", "/fhir/$export", "", nil)
	assert.Equal(t, "system/*.rs", d.Needed)
}
