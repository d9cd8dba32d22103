package fhirauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A choice element has one type in a resource. A body that carries the
// type the constraint's parameter searches next to another type of the
// same choice (medicationCodeableConcept and medicationReference) is
// read by servers differently: a lenient parser keeps the last, so the
// stored resource holds the other type and does not satisfy the
// constraint. Such a resource satisfies no constraint on that choice,
// at the top level or inside a repeating element.
func TestConstraintChoiceWithTwoTypes(t *testing.T) {
	p := testPolicy(t)
	rx := `"medicationCodeableConcept":{"coding":[{"system":"http://rx","code":"1"}]}`
	other := `"medicationReference":{"reference":"Medication/opioid"}`
	mr := func(members string) string {
		return `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"},` + members + `}`
	}
	comp := func(members string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"component":[{"code":{"text":"c"},` + members + `}]}`
	}
	pos := `"valueCodeableConcept":{"coding":[{"system":"http://a","code":"pos"}]}`
	for _, tc := range []struct {
		name, typ, constraint, body string
		allow                       bool
	}{
		{"concept then reference", "MedicationRequest", "code=http://rx%7C1", mr(rx + "," + other), false},
		{"reference then concept", "MedicationRequest", "code=http://rx%7C1", mr(other + "," + rx), false},
		{"reference param, concept beside", "MedicationRequest", "medication=Medication/opioid", mr(rx + "," + other), false},
		{"value-concept with valueString", "Observation", "value-concept=http://a%7Cpos",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},` + pos + `,"valueString":"neg"}`, false},
		{"component value with valueBoolean", "Observation", "component-value-concept=http://a%7Cpos", comp(pos + `,"valueBoolean":false`), false},
		// legitimate
		{"concept alone", "MedicationRequest", "code=http://rx%7C1", mr(rx), true},
		{"reference alone", "MedicationRequest", "medication=Medication/opioid", mr(other), true},
		{"value-concept alone", "Observation", "value-concept=http://a%7Cpos",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},` + pos + `}`, true},
		{"component value alone", "Observation", "component-value-concept=http://a%7Cpos", comp(pos), true},
		{"primitive extension of the choice", "Observation", "value-concept=http://a%7Cpos",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},` + pos + `,"_valueString":{"id":"x"}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := principal(t, "user/"+tc.typ+".c?"+tc.constraint, "")
			_, d := authorize(t, p, pr, "POST", "/fhir/"+tc.typ, tc.body, nil)
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
		})
	}
}
