package fhirauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A token item without a code ("|", or "|" in an OR list) names no code,
// so nothing satisfies it: not a Coding or Identifier that has neither a
// system nor a code (only a display, a type or extensions), nor an empty
// code, an empty string. medplum's search returns none of them for category=| (the
// constraint differential in interop/medplum found the difference).
func TestConstraintEmptyTokenMatchesNothing(t *testing.T) {
	p := testPolicy(t)
	obs := func(member string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},` + member + `}`
	}
	for _, tc := range []struct {
		name, typ, constraint, body string
		allow                       bool
	}{
		{"coding with a display only", "Observation", "category=|", obs(`"category":[{"coding":[{"display":"laboratory"}]}]`), false},
		{"empty coding", "Observation", "category=|", obs(`"category":[{"coding":[{}]}]`), false},
		{"coding with an extension only", "Observation", "category=|",
			obs(`"category":[{"coding":[{"extension":[{"url":"http://example.org/x","valueString":"y"}]}]}]`), false},
		{"identifier with a type only", "Observation", "identifier=|", obs(`"identifier":[{"type":{"text":"MRN"}}]`), false},
		{"tag with a display only", "Observation", "_tag=|", obs(`"meta":{"tag":[{"display":"x"}]}`), false},
		{"empty item in an OR list", "Observation", "category=|,vital-signs", obs(`"category":[{"coding":[{"display":"laboratory"}]}]`), false},
		{"class with a display only", "Encounter", "class=|",
			`{"resourceType":"Encounter","status":"finished","class":{"display":"ambulatory"},"subject":{"reference":"Patient/123"}}`, false},
		{"empty gender, |", "Patient", "gender=|", `{"resourceType":"Patient","gender":""}`, false},
		{"empty gender, empty OR item", "Patient", "gender=male,,female", `{"resourceType":"Patient","gender":""}`, false},
		{"empty identifier value, |", "Patient", "identifier=|", `{"resourceType":"Patient","identifier":[{"value":""}]}`, false},
		// legitimate
		{"|code, coding without a system", "Observation", "category=|laboratory", obs(`"category":[{"coding":[{"code":"laboratory"}]}]`), true},
		{"other item of the OR list", "Observation", "category=|,laboratory", obs(`"category":[{"coding":[{"code":"laboratory"}]}]`), true},
		{"system|, coding without a code", "Observation", "category=http://s|", obs(`"category":[{"coding":[{"system":"http://s"}]}]`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := principal(t, "user/"+tc.typ+".c?"+tc.constraint, "")
			_, d := authorize(t, p, pr, "POST", "/fhir/"+tc.typ, tc.body, nil)
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
		})
	}
}
