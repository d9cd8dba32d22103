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
