package fhirauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A code element (Observation.status, Patient.gender) has no system in
// its JSON, but its code system is implicit, and servers differ on it:
// HAPI indexes a bound code with the system of its value set, so its
// search status=|final ("no system") returns no Observation, while a
// server that indexes the bare code returns every final one. A uri
// parameter has no system at all: url=|http://x searches for the uri
// "|http://x". An item with a "|" therefore matches no code, string or
// uri element, and a read under such a constraint is refused.
func TestConstraintBarItemMatchesNoPrimitive(t *testing.T) {
	p := testPolicy(t)
	obs := `{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
	vs := `{"resourceType":"ValueSet","id":"1","status":"active","url":"http://a.example/vs"}`
	pat := `{"resourceType":"Patient","id":"1","gender":"male"}`
	for _, tc := range []struct {
		name, typ, constraint, body string
		allow                       bool
	}{
		{"|code on a code", "Observation", "status=|final", obs, false},
		{"|code in an OR list", "Observation", "status=amended,|final", obs, false},
		{"system|code on a code", "Observation", "status=http://hl7.org/fhir/observation-status|final", obs, false},
		{"|code on gender", "Patient", "gender=|male", pat, false},
		{"|uri on a uri", "ValueSet", "url=|http://a.example/vs", vs, false},
		// legitimate
		{"code", "Observation", "status=final", obs, true},
		{"code in an OR list", "Observation", "status=amended,final", obs, true},
		{"uri", "ValueSet", "url=http://a.example/vs", vs, true},
		{"uri with an escaped bar", "ValueSet", "url=http://a.example/v%5C%7Cs", `{"resourceType":"ValueSet","id":"1","status":"active","url":"http://a.example/v|s"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := principal(t, "user/"+tc.typ+".cr?"+tc.constraint, "")
			_, d := authorize(t, p, pr, "GET", "/fhir/"+tc.typ+"/1", "", nil)
			assert.True(t, d.Allowed, "%d %s", d.Status, d.Reason)
			err := d.checkRead([]byte(tc.body))
			assert.Equal(t, tc.allow, err == nil, "read: %v", err)
			_, d = authorize(t, p, pr, "POST", "/fhir/"+tc.typ, noID(tc.body), nil)
			assert.Equal(t, tc.allow, d.Allowed, "create: %d %s", d.Status, d.Reason)
		})
	}
}
