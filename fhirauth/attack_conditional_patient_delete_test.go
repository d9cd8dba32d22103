package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConditionalPatientDeleteChecksStored: under patient context a
// conditional delete of Patient is narrowed to _id=the patient, but
// medplum matches _id without regard to letter case: once Patient/p1 is
// gone, DELETE Patient?_id=p1 with a token for p1 would delete
// Patient/P1, another patient. So the delete needs the stored-version
// check, as a conditional update of Patient does, and the deleted
// resource is checked (a middleware, which cannot read the target of a
// conditional write, refuses it).
func TestConditionalPatientDeleteChecksStored(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, patientAll, "abc")
	for _, target := range []string{"/fhir/Patient?_id=abc", "/fhir/Patient?name=x", "/fhir/Patient?_id=ABC"} {
		t.Run(target, func(t *testing.T) {
			_, d := authorize(t, p, pr, http.MethodDelete, target, "", nil)
			if !d.Allowed {
				return // refused outright: fine
			}
			if assert.True(t, d.NeedsStoredCheck(), "a conditional delete of Patient must check the resource it deletes") {
				assert.ErrorIs(t, d.CheckStored([]byte(`{"resourceType":"Patient","id":"ABC"}`)), ErrOutsideCompartment)
				assert.NoError(t, d.CheckStored([]byte(`{"resourceType":"Patient","id":"abc"}`)))
			}
		})
	}
	_, d := authorize(t, p, pr, http.MethodDelete, "/fhir/Patient/abc", "", nil)
	assert.True(t, d.Allowed, "deleting the own Patient by id: %s", d.Reason)
}
