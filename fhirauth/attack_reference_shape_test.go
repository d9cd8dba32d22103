package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A compartment reference whose value is not a string named nobody, so a
// patient/ token wrote an Observation of its own patient that also
// carried performer.reference ["Patient/456"] (or {"x": ...}, 456):
// FHIR has no such reference, and a reader that takes the string out of
// the array, or the number for a string, files it in 456's compartment
// too. Such bodies, and compartment elements that are not objects
// ("performer": "Patient/456"), are refused as malformed, 400, on
// create, update and in a transaction.
func TestAttackReferenceNotAString(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, patientAll, "123")
	for _, tc := range []struct{ name, performer, reason string }{
		{"array", `[{"reference":["Patient/456"]}]`, "not a string"},
		{"object", `[{"reference":{"reference":"Patient/456"}}]`, "not a string"},
		{"number", `[{"reference":456}]`, "not a string"},
		{"true", `[{"reference":true}]`, "not a string"},
		{"null", `[{"reference":null}]`, "not a string"},
		{"element a string", `"Patient/456"`, "not an object"},
		{"element in an array of arrays", `[["Patient/456"]]`, "not an object"},
	} {
		body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"performer":` + tc.performer + `}`
		withID := `{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"performer":` + tc.performer + `}`
		for _, w := range []struct{ name, method, target, body string }{
			{"create", "POST", "/fhir/Observation", body},
			{"update", "PUT", "/fhir/Observation/1", withID},
			{"transaction", "POST", "/fhir", bundle("transaction", entry("POST", "Observation", body))},
		} {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				_, d := authorize(t, p, pr, w.method, w.target, w.body, nil)
				assert.False(t, d.Allowed)
				assert.Equal(t, http.StatusBadRequest, d.Status, "%s", d.Reason)
				assert.Contains(t, d.Reason, tc.reason)
			})
		}
	}
	t.Run("outside the compartment elements", func(t *testing.T) {
		body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"focus":[{"reference":["Patient/456"]}]}`
		_, d := authorize(t, p, pr, "POST", "/fhir/Observation", body, nil)
		assert.True(t, d.Allowed, "%d %s", d.Status, d.Reason)
	})
}
