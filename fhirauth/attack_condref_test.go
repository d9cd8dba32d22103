package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A conditional reference outside the compartment elements passed: a
// patient/ token for 123 wrote Observations of 123 whose focus was
// "Patient?identifier=...|x" or "Observation?subject=Patient/456&code=..."
// and learnt, from whether a transaction succeeded (FHIR has it fail
// when nothing matches), whether another patient's records match; a
// user/ token searched types its scopes do not let it search. Such a
// reference now needs unconstrained "s" on its type outside patient
// context, and is refused under it.
func TestAttackConditionalReferenceElsewhere(t *testing.T) {
	p := testPolicy(t)
	obs := func(extra string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},` + extra + `}`
	}
	probe := `"focus":[{"reference":"Observation?subject=Patient/456&code=hiv"}]`
	for _, tc := range []struct {
		name, scopes, patient, method, target, body string
		allow                                       bool
		reason                                      string
	}{
		{"patient create, focus", patientAll, "123", "POST", "/fhir/Observation", obs(probe), false, "conditional reference"},
		{"patient create, Patient focus", patientAll, "123", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"Patient?identifier=sys|x"}]`), false, "conditional reference"},
		{"patient create, extension", patientAll, "123", "POST", "/fhir/Observation", obs(`"extension":[{"url":"u","valueReference":{"reference":"Patient?identifier=sys|x"}}]`), false, "conditional reference"},
		{"patient create, contained", patientAll, "123", "POST", "/fhir/Observation", obs(`"contained":[{"resourceType":"Patient","id":"c","link":[{"other":{"reference":"Patient?identifier=sys|x"},"type":"seealso"}]}]`), false, "conditional reference"},
		{"patient create, escaped ?", patientAll, "123", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"Patient\u003fidentifier=sys|x"}]`), false, "conditional reference"},
		{"patient create, mis-cased name", patientAll, "123", "POST", "/fhir/Observation", obs(`"focus":[{"Reference":"Patient?identifier=sys|x"}]`), false, "conditional reference"},
		{"patient update", patientAll, "123", "PUT", "/fhir/Observation/1", `{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},` + probe + `}`, false, "conditional reference"},
		{"patient JSON patch", patientAll, "123", "PATCH", "/fhir/Observation/1", `[{"op":"add","path":"/focus","value":[{"reference":"Patient?identifier=sys|x"}]}]`, false, "conditional reference"},
		{"patient transaction", patientAll, "123", "POST", "/fhir", bundle("transaction", entry("POST", "Observation", obs(probe))), false, "conditional reference"},
		{"user without search", "user/Observation.cu", "", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"Patient?identifier=sys|x"}]`), false, "user/Patient.s"},
		{"user with constrained search", "user/Observation.cu user/Patient.s?identifier=sys|x", "", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"Patient?identifier=sys|x"}]`), false, "cannot be enforced"},
		{"user, absolute", "user/*.cruds", "", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"http://fhir.test/fhir/Patient?identifier=sys|x"}]`), false, "cannot judge"},
		{"user, no type", "user/*.cruds", "", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"?identifier=sys|x"}]`), false, "cannot judge"},
		{"patient, shared type without search", "patient/Observation.cu", "123", "POST", "/fhir/Observation", obs(`"performer":[{"reference":"Practitioner?identifier=npi|1"}]`), false, "patient/Practitioner.s"},
		{"patient, absolute shared type", patientAll, "123", "POST", "/fhir/Observation", obs(`"performer":[{"reference":"http://fhir.test/fhir/Practitioner?identifier=npi|1"}]`), false, "cannot judge"},
		// legitimate
		{"patient, shared type", patientAll, "123", "POST", "/fhir/Observation", obs(`"performer":[{"reference":"Practitioner?identifier=npi|1"}]`), true, ""},
		{"user with search", "user/Observation.cu user/Patient.s", "", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"Patient?identifier=sys|x"}]`), true, ""},
		{"patient, literal focus", patientAll, "123", "POST", "/fhir/Observation", obs(`"focus":[{"reference":"Observation/9"}],"note":[{"text":"why?"}]`), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, tc.scopes, tc.patient), tc.method, tc.target, tc.body, nil)
			if !assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason) || tc.allow {
				return
			}
			assert.Equal(t, http.StatusForbidden, d.Status)
			assert.Contains(t, d.Reason+" "+d.Needed, tc.reason)
		})
	}
}
