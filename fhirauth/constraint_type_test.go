package fhirauth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

const obsCategorySystem = "http://terminology.hl7.org/CodeSystem/observation-category"

// obsWithCategory is an Observation of Patient/123 whose category element
// is the JSON cat.
func obsWithCategory(cat string) string {
	return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"category":` + cat + `}`
}

// The constraint matcher reads an element by its FHIR data type: members
// the type does not define, and values of a shape it does not allow,
// never satisfy a constraint (a lenient server would drop or coerce them
// and store what the constraint excludes).
func TestConstraintReadsDataTypes(t *testing.T) {
	p := testPolicy(t)
	social := `{"system":"` + obsCategorySystem + `","code":"social-history"}`
	for _, tc := range []struct {
		name, scopes, cat string
		allow             bool
	}{
		// members the data types do not have, and the wrong shape
		{"Coding.value", "", `[{"coding":[` + social[:len(social)-1] + `,"value":"laboratory"}]}]`, false},
		{"CodeableConcept.code", "", `[{"coding":[` + social + `],"code":"laboratory"}]`, false},
		{"CodeableConcept.reference", "", `[{"coding":[` + social + `],"reference":"Basic/laboratory"}]`, false},
		{"string for CodeableConcept list", "", `"laboratory"`, false},
		// hostile variants
		{"CodeableConcept.text", "", `[{"coding":[` + social + `],"text":"laboratory"}]`, false},
		{"CodeableConcept.system+code", "", `[{"system":"` + obsCategorySystem + `","code":"laboratory"}]`, false},
		{"Coding.display", "", `[{"coding":[{"system":"` + obsCategorySystem + `","code":"social-history","display":"laboratory"}]}]`, false},
		{"single CodeableConcept for a list", "", `{"coding":[{"code":"laboratory"}]}`, false},
		{"list of strings", "", `["laboratory"]`, false},
		{"coding as object", "", `[{"coding":{"code":"laboratory"}}]`, false},
		{"coding of strings", "", `[{"coding":["laboratory"]}]`, false},
		{"code a number", "", `[{"coding":[{"code":1}]}]`, false},
		{"code an array", "", `[{"coding":[{"code":["laboratory"]}]}]`, false},
		{"lab next to a malformed concept", "", `[{"coding":[{"code":"laboratory"}]},"social-history"]`, false},
		{"null", "", `null`, false},
		{"system-qualified, other system", "patient/Observation.c?category=" + obsCategorySystem + "|laboratory", `[{"coding":[{"system":"http://example.org","code":"laboratory"}]}]`, false},
		// legitimate
		{"coding with the standard system", "", `[{"coding":[{"system":"` + obsCategorySystem + `","code":"laboratory"}]}]`, true},
		{"coding without system", "", `[{"coding":[{"code":"laboratory"}]}]`, true},
		{"system-qualified", "patient/Observation.c?category=" + obsCategorySystem + "|laboratory", `[{"coding":[{"system":"` + obsCategorySystem + `","code":"laboratory"}]}]`, true},
		{"several codings", "", `[{"coding":[` + social + `,{"system":"` + obsCategorySystem + `","code":"laboratory","display":"Laboratory"}],"text":"Lab"}]`, true},
		{"several concepts", "", `[{"coding":[` + social + `]},{"coding":[{"code":"laboratory"}]}]`, true},
		{"extension on the concept", "", `[{"extension":[{"url":"http://example.org/x","valueString":"y"}],"coding":[{"code":"laboratory"}]}]`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scopes := tc.scopes
			if scopes == "" {
				scopes = "patient/Observation.c?category=laboratory"
			}
			pr := principal(t, "launch/patient "+scopes, "123")
			_, d := authorize(t, p, pr, "POST", "/fhir/Observation", obsWithCategory(tc.cat), nil)
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
			if !tc.allow {
				assert.Contains(t, []int{400, 403}, d.Status, d.Reason)
			}
		})
	}
}

// A reference constraint matches only the exact relative form the
// compartment walker reads, never by suffix: conditional and absolute
// references may resolve to another resource.
func TestConstraintReferenceExact(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		scopes, ref string
		allow       bool
	}{
		{"user/Observation.c?subject=Patient/123", "Patient?_id=456,x/Patient/123", false},
		{"user/Observation.c?subject=Patient/123", "Patient?identifier=http://mrn|456&_tag=a/Patient/123", false},
		{"user/Observation.c?subject=Patient/123", "https://other.example/fhir/Patient/123", false},
		{"user/Observation.c?subject=Patient/123", "x/Patient/123", false},
		{"user/Observation.c?subject=Patient/123", "Group/123", false},
		{"user/Observation.c?subject=Patient/123", "Patient/1234", false},
		{"user/Observation.c?subject=Patient/123", "patient/123", false},
		{"user/Observation.c?subject=123", "Patient?_id=123", false},
		{"user/Observation.c?patient=123", "Group/123", false},
		{"user/Observation.c?subject=Patient/123", "Patient/123", true},
		{"user/Observation.c?subject=Patient/123", "Patient/123/_history/4", true},
		{"user/Observation.c?subject=123", "Group/123", true},
		{"user/Observation.c?patient=Patient/123", "Patient/123", true},
		{"user/Observation.c?patient=123", "Patient/123", true},
	} {
		_, d := authorize(t, p, principal(t, tc.scopes, ""), "POST", "/fhir/Observation",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"`+tc.ref+`"}}`, nil)
		assert.Equal(t, tc.allow, d.Allowed, "%s %s: %d %s", tc.scopes, tc.ref, d.Status, d.Reason)
	}
	// A string where a Reference belongs, and a reference that is no string.
	for _, subject := range []string{`"Patient/123"`, `{"reference":["Patient/123"]}`, `[{"reference":"Patient/123"}]`} {
		_, d := authorize(t, p, principal(t, "user/Observation.c?subject=Patient/123", ""), "POST", "/fhir/Observation",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":`+subject+`}`, nil)
		assert.False(t, d.Allowed, "%s", subject)
	}
	// An element the type does not have does not count: an Observation's
	// "patient" parameter searches subject, not a "patient" member.
	_, d := authorize(t, p, principal(t, "user/Observation.c?patient=Patient/123", ""), "POST", "/fhir/Observation",
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"patient":{"reference":"Patient/123"},"subject":{"reference":"Patient/456"}}`, nil)
	assert.False(t, d.Allowed, d.Reason)
}

// A constraint on a parameter whose element the resource type lacks (or
// whose data type the matcher does not read) cannot be checked: writes
// are denied, naming the parameter.
func TestConstraintUnknownElementFailsClosed(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "system/Patient.cu?code=http://loinc.org|1234-5", "")
	body := `{"resourceType":"Patient","id":"2","code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]}}`
	_, d := authorize(t, p, pr, "POST", "/fhir/Patient", body, nil)
	require.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "code")
	assert.Contains(t, d.Reason, "cannot be enforced")
	_, d = authorize(t, p, pr, "PUT", "/fhir/Patient/2", body, nil)
	require.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "cannot be enforced")

	// STU3 has no Observation.encounter (it is "context").
	stu3 := testPolicy(t, WithVersion(fhirspec.STU3))
	_, d = authorize(t, stu3, principal(t, "user/Observation.c?encounter=Encounter/1", ""), "POST", "/fhir/Observation",
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"encounter":{"reference":"Encounter/1"}}`, nil)
	assert.False(t, d.Allowed, d.Reason)
}

// Response and stored-version checks use the same matcher: a response
// whose category is a bare string does not pass category=laboratory.
func TestConstraintResponseReadsDataTypes(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Observation.rs?category=laboratory", "")
	_, d := authorize(t, p, pr, "GET", "/fhir/Observation/1", "", nil)
	require.True(t, d.Allowed, d.Reason)
	require.True(t, d.NeedsResponseCheck())
	_, _, err := d.CheckResponse(200, []byte(obsOf123))
	assert.NoError(t, err)
	for _, cat := range []string{`"laboratory"`, `[{"coding":[{"code":"social-history","value":"laboratory"}]}]`, `[{"coding":[{"code":"social-history"}],"code":"laboratory"}]`} {
		res := `{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"category":` + cat + `}`
		_, _, err := d.CheckResponse(200, []byte(res))
		assert.ErrorIs(t, err, ErrConstraint, cat)
	}

	// The stored version of an update under a constraint.
	pr = principal(t, "user/Observation.u?category=laboratory", "")
	_, d = authorize(t, p, pr, "PUT", "/fhir/Observation/1", obsOf123, nil)
	require.True(t, d.Allowed, d.Reason)
	assert.NoError(t, d.CheckStored([]byte(obsOf123)))
	err = d.CheckStored([]byte(`{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"category":"laboratory"}`))
	require.ErrorIs(t, err, ErrConstraint)
	assert.Contains(t, err.Error(), "category")
}

// Every parameter of the constraint table searches elements whose types
// fhirspec knows on some resource type.
func TestConstraintPathsAreTyped(t *testing.T) {
	typed := fhirspec.TypedPaths()
	for param, paths := range constraintPaths {
		for _, path := range paths {
			assert.Contains(t, typed, path, "parameter %s", param)
		}
	}
}

// A checked search Bundle (here the Observations a _revinclude adds,
// which no query parameter narrows) is filtered by the same matcher: an
// entry whose category is a bare string is removed, a laboratory one kept.
func TestConstraintSearchBundleReadsDataTypes(t *testing.T) {
	p := testPolicy(t)
	_, d := authorize(t, p, principal(t, "user/Patient.rs user/Observation.rs?category=laboratory", ""), "GET", "/fhir/Patient?_revinclude=Observation:subject", "", nil)
	require.True(t, d.Allowed, d.Reason)
	require.True(t, d.ResponseIsBundle())
	bad := `{"resourceType":"Observation","id":"2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"category":"laboratory"}`
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"http://x/fhir/Observation/1","resource":` + obsOf123 +
		`,"search":{"mode":"include"}},{"fullUrl":"http://x/fhir/Observation/2","resource":` + bad + `,"search":{"mode":"include"}}]}`
	out, removed, err := d.CheckResponse(200, []byte(bundle))
	require.NoError(t, err)
	assert.Equal(t, 1, removed)
	assert.NotContains(t, string(out), `"id":"2"`)
}
