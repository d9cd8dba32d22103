package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A Bundle entry that searches by POST has no form body: medplum then
// searches with the entry's resource as its form and drops request.url's
// query, narrowing included, so a patient/*.rs token read every
// patient's Observations through a batch entry POST Observation/_search.
// A create entry with a query in request.url is a conditional create to
// some servers and a plain create to others. Both are refused, for every
// token, with the reason.
func TestAttackEntryPostURL(t *testing.T) {
	p := testPolicy(t)
	own := noID(obsOf123)
	for _, tc := range []struct {
		name, url, resource, reason string
	}{
		{"type search", "Observation/_search", "", "search by POST"},
		{"type search with a query", "Observation/_search?subject=Patient/123", "", "search by POST"},
		{"system search", "_search?_type=Observation", "", "search by POST"},
		{"compartment search", "Patient/123/Observation/_search", "", "search by POST"},
		{"create with a condition in the url", "Observation?identifier=a|1", own, "request.url of a create entry"},
		{"create with a format", "Observation?_format=json", own, "request.url of a create entry"},
		{"create with an empty query", "Observation?", own, "request.url of a create entry"},
	} {
		for _, scopes := range []struct{ scopes, patient string }{{patientAll, "123"}, {"system/*.cruds", ""}} {
			for _, typ := range []string{"batch", "transaction"} {
				t.Run(tc.name+"/"+scopes.scopes+"/"+typ, func(t *testing.T) {
					body := bundle(typ, entry("POST", tc.url, tc.resource))
					_, d := authorize(t, p, principal(t, scopes.scopes, scopes.patient), "POST", "/fhir", body, nil)
					assert.False(t, d.Allowed)
					assert.Equal(t, http.StatusBadRequest, d.Status)
					assert.Contains(t, d.Reason, tc.reason)
				})
			}
		}
	}
	t.Run("legitimate", func(t *testing.T) {
		for _, e := range []string{
			entry("POST", "Observation", own),
			entry("GET", "Observation?subject=Patient/123", ""),
			entry("POST", "Observation/$lastn", `{"resourceType":"Parameters"}`),
		} {
			_, d := authorize(t, p, principal(t, patientAll, "123"), "POST", "/fhir", bundle("batch", e), nil)
			if assert.True(t, d.Allowed, "%s: %d %s", e, d.Status, d.Reason) {
				assert.True(t, d.Entries[0].Allowed, "%s: %s", e, d.Entries[0].Reason)
			}
		}
	})
}

// A Bundle entry's request.url is read by the server's own FHIR URL
// parser, not by an HTTP stack. medplum's splits a conditional write's
// url at every "?" and keeps only the text between the first two, so
// "Observation?_id=o2?&category=laboratory" names Observation o2
// whatever its category, while the policy read the constraint in it and
// allowed a user/Observation.cruds?category=laboratory token to delete
// or replace it; only the middleware's refusal of conditional writes
// whose stored version it cannot check stood in the way. A second "?" in
// an entry's url now makes the Bundle a 400, as any entry that cannot be
// read does, for every method and token.
func TestAttackEntryURLSecondQuestionMark(t *testing.T) {
	p := testPolicy(t)
	const lab = "user/Observation.cruds?category=laboratory"
	labObs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}]}`
	for _, tc := range []struct{ method, url, resource, scopes string }{
		{"DELETE", "Observation?_id=o2?&category=laboratory", "", lab},
		{"PUT", "Observation?_id=o2?&category=laboratory", labObs, lab},
		{"PATCH", "Observation?_id=o2?&category=laboratory", `{"resourceType":"Parameters"}`, lab},
		{"GET", "Observation?code=x?&category=laboratory", "", lab},
		{"GET", "Observation?code=x?", "", "system/*.cruds"},
		{"DELETE", "Observation?_id=o2?", "", "system/*.cruds"},
	} {
		for _, typ := range []string{"batch", "transaction"} {
			t.Run(tc.method+" "+tc.url+"/"+typ, func(t *testing.T) {
				_, d := authorize(t, p, principal(t, tc.scopes, ""), "POST", "/fhir", bundle(typ, entry(tc.method, tc.url, tc.resource)), nil)
				assert.False(t, d.Allowed)
				assert.Equal(t, http.StatusBadRequest, d.Status, d.Reason)
				assert.Contains(t, d.Reason, `second "?"`)
			})
		}
	}
	t.Run("escaped", func(t *testing.T) {
		_, d := authorize(t, p, principal(t, lab, ""), "POST", "/fhir", bundle("batch", entry("DELETE", "Observation?_id=o2%3F&category=laboratory", "")), nil)
		if assert.True(t, d.Allowed, d.Reason) {
			assert.True(t, d.Entries[0].Allowed, d.Entries[0].Reason)
		}
	})
}

// medplum's router reads a Bundle entry's request.url as a WHATWG URL,
// which drops tabs and line breaks anywhere and controls and spaces at
// either end before the query is split: fhirauth judged
// "category=labor<TAB>atory" as a value that is not the token's
// constraint (and narrowed it), while medplum ran category=laboratory:
// the decision described another search than the one run. A URL holds
// none of these bytes: such an entry makes the Bundle a 400, for every
// method and token; percent-encoded, they stay.
func TestAttackEntryURLControls(t *testing.T) {
	p := testPolicy(t)
	const lab = "user/Observation.cruds?category=laboratory"
	for _, u := range []string{
		`Observation?category=labor\tatory`, `Observation?category=laboratory\n`, `Observation?category=\rlaboratory`,
		`Observation?category=laboratory `, `Observation?category=laboratory\u0000`, `Observation?code=a b&category=laboratory`,
		`Observation?category=laboratory\u007f`, ` Observation?category=laboratory`,
	} {
		for _, method := range []string{"GET", "DELETE"} {
			t.Run(method+" "+u, func(t *testing.T) {
				_, d := authorize(t, p, principal(t, lab, ""), "POST", "/fhir", bundle("batch", entry(method, u, "")), nil)
				assert.False(t, d.Allowed)
				assert.Equal(t, http.StatusBadRequest, d.Status, d.Reason)
				assert.Contains(t, d.Reason, "space or control character")
			})
		}
	}
	t.Run("escaped", func(t *testing.T) {
		_, d := authorize(t, p, principal(t, lab, ""), "POST", "/fhir", bundle("batch", entry("DELETE", "Observation?code=a%20b%09&category=laboratory", "")), nil)
		if assert.True(t, d.Allowed, d.Reason) {
			assert.True(t, d.Entries[0].Allowed, d.Entries[0].Reason)
		}
	})
}
