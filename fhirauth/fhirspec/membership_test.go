package fhirspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const base = "https://fhir.example.org/r4"

type membershipCase struct {
	name    string
	v       Version
	json    string
	patient string
	want    bool
	err     error
}

func membershipCases() []membershipCase {
	return []membershipCase{
		// Plain membership.
		{"observation subject", R4, `{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/123"}}`, "123", true, nil},
		{"observation other subject", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/456"}}`, "123", false, nil},
		{"observation performer is patient", R4, `{"resourceType":"Observation","subject":{"reference":"Group/g"},"performer":[{"reference":"Practitioner/p"},{"reference":"Patient/123"}]}`, "123", true, nil},
		{"observation no subject", R4, `{"resourceType":"Observation","status":"final"}`, "123", false, nil},
		{"stu3 observation", STU3, `{"resourceType":"Observation","subject":{"reference":"Patient/123"}}`, "123", true, nil},
		{"encounter subject r4", R4, `{"resourceType":"Encounter","subject":{"reference":"Patient/123"}}`, "123", true, nil},
		{"encounter participant is not compartment", R4, `{"resourceType":"Encounter","subject":{"reference":"Patient/9"},"participant":[{"individual":{"reference":"Patient/123"}}]}`, "123", false, nil},
		{"allergy patient", R4, `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/123"}}`, "123", true, nil},
		{"allergy asserter", STU3, `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/9"},"asserter":{"reference":"Patient/123"}}`, "123", true, nil},
		{"allergy recorder practitioner", R4, `{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/9"},"recorder":{"reference":"Practitioner/123"}}`, "123", false, nil},
		{"appointment participant actor", R4, `{"resourceType":"Appointment","participant":[{"actor":{"reference":"Practitioner/1"}},{"actor":{"reference":"Patient/123"}}]}`, "123", true, nil},
		{"careplan activity detail performer", R4, `{"resourceType":"CarePlan","subject":{"reference":"Patient/9"},"activity":[{"detail":{"performer":[{"reference":"Patient/123"}]}}]}`, "123", true, nil},
		{"auditevent stu3 agent.reference", STU3, `{"resourceType":"AuditEvent","agent":[{"reference":{"reference":"Patient/123"}}]}`, "123", true, nil},
		{"auditevent r4 agent.who", R4, `{"resourceType":"AuditEvent","agent":[{"who":{"reference":"Patient/123"}}]}`, "123", true, nil},
		{"auditevent r4 stu3 path does not count", R4, `{"resourceType":"AuditEvent","agent":[{"reference":{"reference":"Patient/123"}}]}`, "123", false, nil},
		{"immunization stu3 patient", STU3, `{"resourceType":"Immunization","patient":{"reference":"Patient/123"}}`, "123", true, nil},
		{"medicationstatement r4 subject", R4, `{"resourceType":"MedicationStatement","subject":{"reference":"Patient/123"}}`, "123", true, nil},
		{"medicationstatement patient element is not fhir", R4, `{"resourceType":"MedicationStatement","patient":{"reference":"Patient/123"}}`, "123", false, nil},
		{"versioned reference", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123/_history/1"}}`, "123", true, nil},
		{"reference with display", R4, `{"resourceType":"Observation","subject":{"display":"Jo","reference":"Patient/123","type":"Patient"}}`, "123", true, nil},

		// The Patient resource itself.
		{"patient self", R4, `{"resourceType":"Patient","id":"123","name":[{"family":"X"}]}`, "123", true, nil},
		{"patient self id last", R4, `{"name":[{"family":"X"}],"resourceType":"Patient","id":"123"}`, "123", true, nil},
		{"other patient", R4, `{"resourceType":"Patient","id":"456"}`, "123", false, nil},
		{"patient without id", R4, `{"resourceType":"Patient"}`, "123", false, nil},
		{"patient linked to us", R4, `{"resourceType":"Patient","id":"456","link":[{"other":{"reference":"Patient/123"},"type":"seealso"}]}`, "123", true, nil},
		{"patient link.other to someone else", STU3, `{"resourceType":"Patient","id":"456","link":[{"other":{"reference":"Patient/789"}}]}`, "123", false, nil},
		{"patient id prefix", R4, `{"resourceType":"Patient","id":"1234"}`, "123", false, nil},
		{"patient escaped id decodes", R4, `{"resourceType":"Patient","id":"12\u0033"}`, "123", true, nil},
		{"non-patient id equal to patient id", R4, `{"resourceType":"Observation","id":"123"}`, "123", false, nil},

		// Hostile references.
		{"prefix confusion 1234", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/1234"}}`, "123", false, nil},
		{"prefix confusion 12", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/12"}}`, "123", false, nil},
		{"absolute foreign url", R4, `{"resourceType":"Observation","subject":{"reference":"http://evil/Patient/123"}}`, "123", false, nil},
		{"absolute own url without base option", R4, `{"resourceType":"Observation","subject":{"reference":"https://fhir.example.org/r4/Patient/123"}}`, "123", false, nil},
		{"urn uuid", R4, `{"resourceType":"Observation","subject":{"reference":"urn:uuid:5b4f0c2e-7f3a-4c55-9e8e-1d2f3a4b5c6d"}}`, "123", false, nil},
		{"contained reference", R4, `{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"123"}],"subject":{"reference":"#123"}}`, "123", false, nil},
		{"reference inside contained resource", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/9"},"contained":[{"resourceType":"Observation","subject":{"reference":"Patient/123"}}]}`, "123", false, nil},
		{"reference in note", R4, `{"resourceType":"Observation","note":[{"text":"Patient/123"}],"subject":{"reference":"Patient/9"}}`, "123", false, nil},
		{"reference in extension", R4, `{"resourceType":"Observation","extension":[{"url":"x","valueReference":{"reference":"Patient/123"}}]}`, "123", false, nil},
		{"reference in focus", R4, `{"resourceType":"Observation","focus":[{"reference":"Patient/123"}]}`, "123", false, nil},
		{"identifier only reference", R4, `{"resourceType":"Observation","subject":{"identifier":{"system":"urn:mrn","value":"123"}}}`, "123", false, nil},
		{"conditional reference", R4, `{"resourceType":"Observation","subject":{"reference":"Patient?identifier=123"}}`, "123", false, nil},
		{"query suffix", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123?x=1"}}`, "123", false, nil},
		{"fragment suffix", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123#x"}}`, "123", false, nil},
		{"trailing slash", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123/"}}`, "123", false, nil},
		{"extra segment", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123/Observation/1"}}`, "123", false, nil},
		{"history without version", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123/_history/"}}`, "123", false, nil},
		{"history with bad version", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123/_history/1/2"}}`, "123", false, nil},
		{"dot segments", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/../Patient/123"}}`, "123", false, nil},
		{"leading slash", R4, `{"resourceType":"Observation","subject":{"reference":"/Patient/123"}}`, "123", false, nil},
		{"lower-case type", R4, `{"resourceType":"Observation","subject":{"reference":"patient/123"}}`, "123", false, nil},
		{"percent-encoded id", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/12%33"}}`, "123", false, nil},
		{"escaped reference decodes to match", R4, `{"resourceType":"Observation","subject":{"reference":"Patient\/12\u0033"}}`, "123", true, nil},
		{"group not patient", R4, `{"resourceType":"Observation","subject":{"reference":"Group/123"}}`, "123", false, nil},
		{"reference not a string", R4, `{"resourceType":"Observation","subject":{"reference":["Patient/123"]}}`, "123", false, nil},
		{"subject a string", R4, `{"resourceType":"Observation","subject":"Patient/123"}`, "123", false, nil},
		{"nested arrays are not fhir", R4, `{"resourceType":"Observation","performer":[[{"reference":"Patient/123"}]]}`, "123", false, nil},
		{"reference with whitespace", R4, `{"resourceType":"Observation","subject":{"reference":" Patient/123"}}`, "123", false, nil},

		// Types outside the compartment.
		{"practitioner", R4, `{"resourceType":"Practitioner","id":"123"}`, "123", false, nil},
		{"medication", R4, `{"resourceType":"Medication","id":"m"}`, "123", false, nil},
		{"bundle of patient data", R4, `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","subject":{"reference":"Patient/123"}}}]}`, "123", false, nil},

		// Ambiguous documents.
		{"duplicate subject", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"subject":{"reference":"Patient/999"}}`, "123", false, ErrAmbiguousResource},
		{"duplicate reference", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123","reference":"Patient/999"}}`, "123", false, ErrAmbiguousResource},
		{"escaped duplicate subject", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"subj\u0065ct":{"reference":"Patient/999"}}`, "123", false, ErrAmbiguousResource},
		{"escaped root key", R4, `{"resourceType":"Observation","st\u0061tus":"final","subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"escaped resourceType key", R4, `{"resource\u0054ype":"Observation","subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"escaped reference key", R4, `{"resourceType":"Observation","subject":{"refer\u0065nce":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"escaped key outside the paths", R4, `{"resourceType":"Observation","code":{"t\u0065xt":"x"},"subject":{"reference":"Patient/123"}}`, "123", true, nil},
		{"escaped key of a non-compartment type", R4, `{"resourceType":"Medication","c\u006fde":{}}`, "123", false, ErrAmbiguousResource},
		{"case-variant subject", R4, `{"resourceType":"Observation","Subject":{"reference":"Patient/999"},"subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"unicode-fold subject", R4, `{"resourceType":"Observation","ſubject":{"reference":"Patient/999"},"subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"case-variant reference", R4, `{"resourceType":"Observation","subject":{"Reference":"Patient/999","reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"duplicate resourceType", R4, `{"resourceType":"Practitioner","resourceType":"Observation","subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"duplicate resourceType, the first unknown", R4, `{"resourceType":"","resourceType":"Observation"}`, "123", false, ErrAmbiguousResource},
		{"duplicate resourceType, the first mis-cased", R4, `{"resourceType":"observation","resourceType":"Observation","subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"long keys pass the length filter", R4, `{"resourceType":"Observation","` + strings.Repeat("k", 70) + `":{"subject":{"reference":"Patient/999"}},"subject":{"` + strings.Repeat("r", 64) + `":"x","reference":"Patient/123"}}`, "123", true, nil},
		{"unknown resourceType alone", R4, `{"resourceType":"NoSuchType","subject":{"reference":"Patient/123"}}`, "123", false, ErrUnknownResourceType},
		{"case-variant resourceType", R4, `{"resourcetype":"Practitioner","resourceType":"Observation"}`, "123", false, ErrAmbiguousResource},
		{"duplicate patient id", R4, `{"resourceType":"Patient","id":"123","id":"999"}`, "123", false, ErrAmbiguousResource},
		{"duplicate in nested element", R4, `{"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/123"},"actor":{"reference":"Patient/9"}}]}`, "123", false, ErrAmbiguousResource},
		{"duplicate non-deciding key is refused too", R4, `{"resourceType":"Observation","status":"final","status":"amended","subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},
		{"case-variant non-deciding key", R4, `{"resourceType":"Observation","status":"final","ſtatus":"amended","subject":{"reference":"Patient/123"}}`, "123", false, ErrAmbiguousResource},

		// Malformed.
		{"empty", R4, ``, "123", false, ErrMalformedResource},
		{"not json", R4, `resourceType=Observation`, "123", false, ErrMalformedResource},
		{"array", R4, `[{"resourceType":"Observation"}]`, "123", false, ErrMalformedResource},
		{"string", R4, `"Observation"`, "123", false, ErrMalformedResource},
		{"truncated", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123"}`, "123", false, ErrMalformedResource},
		{"truncated after the type's name", R4, `  {"resourceType":`, "123", false, ErrMalformedResource},
		{"truncated after the type's name, type not first", R4, `{"id":"1","resourceType":`, "123", false, ErrMalformedResource},
		{"trailing garbage", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/123"}} {}`, "123", false, ErrMalformedResource},
		{"trailing comma", R4, `{"resourceType":"Observation",}`, "123", false, ErrMalformedResource},
		{"no resourceType", R4, `{"subject":{"reference":"Patient/123"}}`, "123", false, ErrMalformedResource},
		{"resourceType not a string", R4, `{"resourceType":7,"subject":{"reference":"Patient/123"}}`, "123", false, ErrMalformedResource},
		{"invalid utf8", R4, "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/123\xff\"}}", "123", false, ErrMalformedResource},
		{"unknown type", R4, `{"resourceType":"Observations","subject":{"reference":"Patient/123"}}`, "123", false, ErrUnknownResourceType},
		{"mis-cased type", R4, `{"resourceType":"observation","subject":{"reference":"Patient/123"}}`, "123", false, ErrUnknownResourceType},
		{"stu3 type in r4", R4, `{"resourceType":"BodySite","patient":{"reference":"Patient/123"}}`, "123", false, ErrUnknownResourceType},
		{"r4 type in stu3", STU3, `{"resourceType":"ServiceRequest","subject":{"reference":"Patient/123"}}`, "123", false, ErrUnknownResourceType},
		{"escaped type decodes", R4, `{"resourceType":"Observ\u0061tion","subject":{"reference":"Patient/123"}}`, "123", true, nil},
		{"escaped type and id", R4, `{"resourceType":"P\u0061tient","id":"1\u00323"}`, "123", true, nil},

		// Bad patient ids.
		{"empty patient id", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/"}}`, "", false, ErrInvalidID},
		{"patient id with slash", R4, `{"resourceType":"Observation","subject":{"reference":"Patient/1/_history/2"}}`, "1/_history/2", false, ErrInvalidID},
		{"patient id too long", R4, `{"resourceType":"Observation"}`, strings.Repeat("a", 65), false, ErrInvalidID},
	}
}

func TestInPatientCompartment(t *testing.T) {
	for _, tt := range membershipCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InPatientCompartment(tt.v, []byte(tt.json), tt.patient)
			if tt.err != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tt.err), "got %v, want %v", err, tt.err)
				assert.False(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestInPatientCompartmentUnknownVersion(t *testing.T) {
	_, err := InPatientCompartment(Version(0), []byte(`{"resourceType":"Observation"}`), "1")
	assert.ErrorIs(t, err, ErrUnknownVersion)
	_, err = NewMatcher(Version(3))
	assert.ErrorIs(t, err, ErrUnknownVersion)
	_, err = ResourceTypeOf(Version(0), []byte(`{"resourceType":"Observation"}`))
	assert.ErrorIs(t, err, ErrUnknownVersion)
}

func TestMatcherBaseURL(t *testing.T) {
	m, err := NewMatcher(R4, WithBaseURL(base+"/"))
	require.NoError(t, err)
	assert.Equal(t, R4, m.Version())
	tests := []struct {
		ref  string
		want bool
	}{
		{"Patient/123", true},
		{base + "/Patient/123", true},
		{base + "/Patient/123/_history/2", true},
		{base + "/Patient/1234", false},
		{"https://FHIR.example.org/r4/Patient/123", false}, // exact match only
		{"http://fhir.example.org/r4/Patient/123", false},
		{"https://fhir.example.org/r4x/Patient/123", false},
		{"https://fhir.example.org/Patient/123", false},
		{"https://fhir.example.org.evil/r4/Patient/123", false},
		{"https://fhir.example.org/r4/../r4/Patient/123", false},
		{"https://fhir.example.org/r4//Patient/123", false},
		{"https://evil@fhir.example.org/r4/Patient/123", false},
		{"http://evil/Patient/123", false},
	}
	for _, tt := range tests {
		doc := `{"resourceType":"Observation","subject":{"reference":"` + tt.ref + `"}}`
		got, err := m.InPatientCompartment([]byte(doc), "123")
		require.NoError(t, err, tt.ref)
		assert.Equal(t, tt.want, got, tt.ref)
	}
	for _, bad := range []string{"", "fhir.example.org/r4", "ftp://x/r4", "https://", "https://u:p@x/r4", "https://x/r4?a=b", "https://x/r4#f", "://x", "https://x/r4//"} {
		_, err := NewMatcher(R4, WithBaseURL(bad))
		assert.Error(t, err, bad)
	}
}

func TestPatientCompartments(t *testing.T) {
	m, err := NewMatcher(R4, WithBaseURL(base))
	require.NoError(t, err)
	rt, ids, err := m.PatientCompartments([]byte(`{"resourceType":"Observation","subject":{"reference":"Patient/b"},` +
		`"performer":[{"reference":"` + base + `/Patient/a"},{"reference":"Patient/b/_history/3"},{"reference":"Practitioner/c"},{"reference":"http://evil/Patient/d"}]}`))
	require.NoError(t, err)
	assert.Equal(t, "Observation", rt)
	assert.Equal(t, []string{"a", "b"}, ids)

	rt, ids, err = m.PatientCompartments([]byte(`{"resourceType":"Patient","id":"p","link":[{"other":{"reference":"Patient/q"}}]}`))
	require.NoError(t, err)
	assert.Equal(t, "Patient", rt)
	assert.Equal(t, []string{"p", "q"}, ids)

	rt, ids, err = m.PatientCompartments([]byte(`{"resourceType":"Practitioner","id":"p"}`))
	require.NoError(t, err)
	assert.Equal(t, "Practitioner", rt)
	assert.Empty(t, ids)

	_, _, err = m.PatientCompartments([]byte(`{"resourceType":"Observation","subject":{"reference":"Patient/1"},"subject":{}}`))
	assert.ErrorIs(t, err, ErrAmbiguousResource)
	_, _, err = m.PatientCompartments([]byte(`{`))
	assert.ErrorIs(t, err, ErrMalformedResource)

	// The ids outlive the input buffer.
	buf := []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/x\u0079z"}}`)
	_, ids, err = m.PatientCompartments(buf)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = ' '
	}
	assert.Equal(t, []string{"xyz"}, ids)
}

func TestResourceTypeOf(t *testing.T) {
	rt, err := ResourceTypeOf(STU3, []byte(` {"id":"1", "resourceType" : "ProcedureRequest"} `))
	require.NoError(t, err)
	assert.Equal(t, "ProcedureRequest", rt)
	_, err = ResourceTypeOf(R4, []byte(`{"resourceType":"ProcedureRequest"}`))
	assert.ErrorIs(t, err, ErrUnknownResourceType)
	_, err = ResourceTypeOf(R4, []byte(`{"resourceType":null}`))
	assert.ErrorIs(t, err, ErrMalformedResource)
	_, err = ResourceTypeOf(R4, []byte(`{"id":"1"}`))
	assert.ErrorIs(t, err, ErrMalformedResource)
}

func TestErrorsDoNotEchoLongInput(t *testing.T) {
	long := strings.Repeat("A", 10000)
	_, err := InPatientCompartment(R4, []byte(`{"resourceType":"`+long+`"}`), "1")
	require.ErrorIs(t, err, ErrUnknownResourceType)
	assert.Less(t, len(err.Error()), 200)
	_, err = InPatientCompartment(R4, []byte(`{"resourceType":"Observation"}`), long)
	require.ErrorIs(t, err, ErrInvalidID)
	assert.Less(t, len(err.Error()), 200)
}

func TestInPatientCompartmentDeepNesting(t *testing.T) {
	// Deep nesting outside compartment paths is skipped iteratively;
	// encoding/json rejects nesting beyond its own limit.
	deep := `{"resourceType":"Observation","note":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `,"subject":{"reference":"Patient/1"}}`
	_, err := InPatientCompartment(R4, []byte(deep), "1")
	assert.ErrorIs(t, err, ErrMalformedResource)
	ok, err := InPatientCompartment(R4, []byte(`{"resourceType":"Observation","note":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`,"subject":{"reference":"Patient/1"}}`), "1")
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestInPatientCompartmentDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	doc := []byte(typicalObservation)
	m, err := NewMatcher(R4, WithBaseURL(base))
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		ok, err := m.InPatientCompartment(doc, "example")
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		ok, err = InPatientCompartment(R4, doc, "other")
		if ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	assert.Zero(t, allocs)
}

// foldsTo answers as strings.EqualFold for ASCII names, also for keys with
// letters that fold across lengths.
func TestFoldsTo(t *testing.T) {
	for _, key := range []string{"subject", "Subject", "SUBJECT", "ſubject", "ſubjeſt", "subjec", "subjects", "", "reference",
		"\u212aey", "key", "KEY", "id", "ID", "İd", "resourceType", "resourcetype", "reſourceType", "résourceType"} {
		for _, name := range []string{"subject", "key", "id", "resourceType", "reference"} {
			assert.Equal(t, strings.EqualFold(key, name), foldsTo(key, name), "%q vs %q", key, name)
		}
	}
}

// PatientMembership answers type and membership from one read; the type
// outlives the (pooled, reused) input buffer, and errors carry no type.
func TestPatientMembership(t *testing.T) {
	m, err := NewMatcher(R4)
	require.NoError(t, err)
	buf := []byte(`{"resourceType":"Observation","subject":{"reference":"Patient/123"}}`)
	rt, in, err := m.PatientMembership(buf, "123")
	require.NoError(t, err)
	assert.True(t, in)
	for i := range buf {
		buf[i] = 'X'
	}
	assert.Equal(t, "Observation", rt)

	rt, in, err = m.PatientMembership([]byte(`{"resourceType":"Observation","subject":{"reference":"Patient/999"}}`), "123")
	require.NoError(t, err)
	assert.Equal(t, "Observation", rt)
	assert.False(t, in)

	for _, bad := range []string{
		`{"resourceType":"Observation","subject":{"reference":"Patient/123"}} x`, // trailing garbage after a member match
		`{"resourceType":"Observation","subject":{"reference":"Patient/123"},"note":[1,]}`,
		`{"resourceType":"Observation","subject":{"reference":"Patient/123"},"n":"a` + "\x01" + `"}`,
		"{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/123\"},\"n\":\"\xff\"}",
	} {
		rt, in, err := m.PatientMembership([]byte(bad), "123")
		assert.ErrorIs(t, err, ErrMalformedResource, "%q", bad)
		assert.Empty(t, rt)
		assert.False(t, in)
	}
	_, _, err = m.PatientMembership(buf, "../123")
	assert.ErrorIs(t, err, ErrInvalidID)
}
