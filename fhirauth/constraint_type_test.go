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

// A constraint is judged on the elements its parameter searches on the
// resource's type, from the release's SearchParameter definitions: R4
// Questionnaire's "code" searches item.code, not Questionnaire.code;
// MedicationRequest's "code" searches medicationCodeableConcept; a
// parameter whose expression fhirspec cannot read (Patient's "email",
// telecom.where(system='email')) is not enforceable at all.
func TestConstraintReadsSearchParameterElements(t *testing.T) {
	p := testPolicy(t)
	q := func(top, item string) string {
		return `{"resourceType":"Questionnaire","status":"active","code":[{"system":"http://loinc.org","code":"` + top +
			`"}],"item":[{"linkId":"1","type":"string","code":[{"system":"http://loinc.org","code":"` + item + `"}]}]}`
	}
	mr := func(med string) string {
		return `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/123"},` + med + `}`
	}
	for _, tc := range []struct {
		name, scopes, path, body string
		allow                    bool
	}{
		{"Questionnaire code on the top level only", "user/Questionnaire.c?code=http://loinc.org|1", "/fhir/Questionnaire", q("1", "2"), false},
		{"Questionnaire code on an item", "user/Questionnaire.c?code=http://loinc.org|1", "/fhir/Questionnaire", q("2", "1"), true},
		{"MedicationRequest code as a concept", "patient/MedicationRequest.c?code=http://rxnorm|7", "/fhir/MedicationRequest",
			mr(`"medicationCodeableConcept":{"coding":[{"system":"http://rxnorm","code":"7"}]}`), true},
		{"MedicationRequest code other concept", "patient/MedicationRequest.c?code=http://rxnorm|7", "/fhir/MedicationRequest",
			mr(`"medicationCodeableConcept":{"coding":[{"system":"http://rxnorm","code":"8"}]}`), false},
		{"MedicationRequest code as a reference", "patient/MedicationRequest.c?code=http://rxnorm|7", "/fhir/MedicationRequest",
			mr(`"medicationReference":{"reference":"Medication/7"}`), false},
		{"Patient email is not readable", "user/Patient.c?email=a@example.org", "/fhir/Patient",
			`{"resourceType":"Patient","telecom":[{"system":"email","value":"a@example.org"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, "launch/patient "+tc.scopes, "123"), "POST", tc.path, tc.body, nil)
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
		})
	}
}

// A patch under a constraint on a choice element may not name any of its
// types: "medicationReference" replaces the medicationCodeableConcept the
// constraint reads.
func TestConstraintPatchChoiceElement(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "launch/patient patient/MedicationRequest.ru?code=http://rxnorm|7", "123")
	for _, body := range []string{
		`[{"op":"add","path":"/medicationReference","value":{"reference":"Medication/1"}}]`,
		`[{"op":"remove","path":"/medicationCodeableConcept"}]`,
	} {
		_, d := authorize(t, p, pr, "PATCH", "/fhir/MedicationRequest/1", body, map[string]string{"Content-Type": "application/json-patch+json"})
		assert.False(t, d.Allowed, body)
		assert.Contains(t, d.Reason, "medication[x]", body)
	}
	_, d := authorize(t, p, pr, "PATCH", "/fhir/MedicationRequest/1", `[{"op":"replace","path":"/status","value":"stopped"}]`,
		map[string]string{"Content-Type": "application/json-patch+json"})
	assert.True(t, d.Allowed, d.Reason)
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

// A constraint value is read with FHIR's search escaping, as the server
// reads the same value in a search: "a\,b" is the one value "a,b", and
// "s\|x|b" the system "s|x" with code "b". A backslash before any other
// character matches nothing. (The scope carries the backslash as %5C.)
func TestConstraintEscapedValues(t *testing.T) {
	p := testPolicy(t)
	obs := func(identifier string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"identifier":[` + identifier + `]}`
	}
	for _, tc := range []struct {
		name, value, identifier string
		allow                   bool
	}{
		{"escaped comma", `http://s|a%5C,b`, `{"system":"http://s","value":"a,b"}`, true},
		{"escaped comma, literal backslash", `http://s|a%5C,b`, `{"system":"http://s","value":"a\\,b"}`, false},
		{"escaped comma, first half", `http://s|a%5C,b`, `{"system":"http://s","value":"a"}`, false},
		{"escaped bar in the system", `http://s%5C|x|b`, `{"system":"http://s|x","value":"b"}`, true},
		{"escaped bar, other split", `http://s%5C|x|b`, `{"system":"http://s","value":"x|b"}`, false},
		{"escaped backslash", `http://s|a%5C%5Cb`, `{"system":"http://s","value":"a\\b"}`, true},
		{"unknown escape", `http://s|a%5Cb`, `{"system":"http://s","value":"ab"}`, false},
		{"unknown escape, literal", `http://s|a%5Cb`, `{"system":"http://s","value":"a\\b"}`, false},
		{"trailing backslash", `http://s|a%5C`, `{"system":"http://s","value":"a\\"}`, false},
		{"plain OR list", `http://s|a,http://s|b`, `{"system":"http://s","value":"b"}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := principal(t, "launch/patient patient/Observation.c?identifier="+tc.value, "123")
			_, d := authorize(t, p, pr, "POST", "/fhir/Observation", obs(tc.identifier), nil)
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
		})
	}
}
