package fhirspec

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// References a server may resolve to a patient although fhirspec cannot
// say which: a write check must refuse them (PatientCompartmentsStrict).
func TestMayNamePatient(t *testing.T) {
	for ref, want := range map[string]bool{
		"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9999999999": true,
		"?identifier=x":       true,
		"patient/456":         true,
		"PATIENT/456":         true,
		"Patient/456?x=1":     true,
		"Patient/456#x":       true,
		"Patient/456/":        true,
		"Patient//456":        true,
		"Patient%2F456":       true,
		" Patient/456":        true,
		"./Patient/456":       true,
		"../fhir/Patient/456": true,
		"Patient":             true,
		"http://fhir.example.org/fhir/Patient/456":      true,
		"https://evil.example/Patient/456/_history":     true,
		"http://x/fhir/patient/456":                     true,
		"http://x/fhir/Patient?identifier=1":            true,
		"Practitioner/1":                                false,
		"Practitioner?identifier=x":                     false,
		"Group/1":                                       false,
		"http://x/fhir/Practitioner/1":                  false,
		"http://patient.example/fhir/Device/1":          false,
		"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a": false,
		"urn:oid:1.2.3":                                 false,
		"#contained":                                    false,
		"":                                              false,
	} {
		assert.Equal(t, want, mayNamePatient(ref), "%q", ref)
	}
}

func TestPatientCompartmentsStrict(t *testing.T) {
	m, err := NewMatcher(R4, WithBaseURL("https://fhir.example.org/r4"))
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		doc string
		ids []string
		err error
	}{
		"plain":                   {`{"resourceType":"Observation","subject":{"reference":"Patient/a"}}`, []string{"a"}, nil},
		"own base":                {`{"resourceType":"Observation","subject":{"reference":"https://fhir.example.org/r4/Patient/a"}}`, []string{"a"}, nil},
		"placeholder":             {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":"urn:uuid:1"}]}`, []string{"a"}, nil},
		"other type":              {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":"Practitioner?identifier=x"}]}`, []string{"a"}, nil},
		"outside compartment el.": {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"focus":[{"reference":"Patient?identifier=x"}]}`, []string{"a"}, nil},
		"conditional":             {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":"Patient?identifier=x"}]}`, nil, ErrUnverifiableReference},
		"other server":            {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":"https://other.example/Patient/b"}]}`, nil, ErrUnverifiableReference},
		"own base, bad id":        {`{"resourceType":"Observation","subject":{"reference":"https://fhir.example.org/r4/Patient/b/x"}}`, nil, ErrUnverifiableReference},
		"mis-cased":               {`{"resourceType":"Observation","subject":{"reference":"patient/b"}}`, nil, ErrUnverifiableReference},
		"Patient link":            {`{"resourceType":"Patient","id":"a","link":[{"other":{"reference":"Patient?identifier=b"}}]}`, nil, ErrUnverifiableReference},
		"reference array":         {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":["Patient/b"]}]}`, nil, ErrMalformedResource},
		"reference object":        {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":{"x":"Patient/b"}}]}`, nil, ErrMalformedResource},
		"reference number":        {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":12}]}`, nil, ErrMalformedResource},
		"reference true":          {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":true}]}`, nil, ErrMalformedResource},
		"reference null":          {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[{"reference":null}]}`, nil, ErrMalformedResource},
		"element a string":        {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":"Patient/b"}`, nil, ErrMalformedResource},
		"element null":            {`{"resourceType":"Observation","subject":null,"performer":[{"reference":"Patient/a"}]}`, nil, ErrMalformedResource},
		"null in an array":        {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[null]}`, nil, ErrMalformedResource},
		"array in an array":       {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"performer":[["Patient/b"]]}`, nil, ErrMalformedResource},
		"backbone a string":       {`{"resourceType":"CareTeam","subject":{"reference":"Patient/a"},"participant":["Patient/b"]}`, nil, ErrMalformedResource},
		"Patient link.other":      {`{"resourceType":"Patient","id":"a","link":[{"other":{"reference":["Patient/b"]}}]}`, nil, ErrMalformedResource},
		"outside compartment":     {`{"resourceType":"Observation","subject":{"reference":"Patient/a"},"focus":[{"reference":["Patient/b"]}]}`, []string{"a"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, ids, err := m.PatientCompartmentsStrict([]byte(tc.doc))
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.ids, ids)
			_, plain, err := m.PatientCompartments([]byte(tc.doc))
			require.NoError(t, err)
			assert.Equal(t, plain, ids, "agrees with PatientCompartments when it can decide")
		})
	}
}

// A reference the server replaces before storing the resource (a link
// to a Bundle entry's fullUrl) is unverifiable on a compartment path,
// whatever it names, and ignored elsewhere.
func TestPatientCompartmentsReplaced(t *testing.T) {
	m, err := NewMatcher(R4)
	require.NoError(t, err)
	obs := `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"encounter":{"reference":"urn:uuid:e"},"performer":[{"reference":"urn:uuid:p"}]}`
	replaced := func(set ...string) func(string) bool {
		return func(ref string) bool { return slices.Contains(set, ref) }
	}
	_, ids, err := m.PatientCompartmentsReplaced([]byte(obs), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"123"}, ids)
	_, ids, err = m.PatientCompartmentsReplaced([]byte(obs), replaced("urn:uuid:e", "Patient/456"))
	require.NoError(t, err, "encounter is no compartment path")
	assert.Equal(t, []string{"123"}, ids)
	for _, ref := range []string{"Patient/123", "urn:uuid:p"} {
		_, _, err = m.PatientCompartmentsReplaced([]byte(obs), replaced(ref))
		assert.ErrorIs(t, err, ErrUnverifiableReference, ref)
	}
}
