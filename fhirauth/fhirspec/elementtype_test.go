package fhirspec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec/internal/cardinality"
)

// TestElementTypesMatchProtos guards elementtype_gen.go against drift:
// every typed path on every resource type answers what the google/fhir/go
// protos say (run go generate after editing typedPaths or upgrading the
// protos).
func TestElementTypesMatchProtos(t *testing.T) {
	names := map[string]DataType{
		"CodeableConcept": TypeCodeableConcept, "Coding": TypeCoding, "Identifier": TypeIdentifier,
		"Reference": TypeReference, "code": TypeString, "string": TypeString, "id": TypeString,
		"uri": TypeString, "canonical": TypeString, "boolean": TypeBoolean,
	}
	for _, v := range []Version{STU3, R4} {
		res, err := cardinality.Resources(v.String())
		require.NoError(t, err)
		for typ, md := range res {
			for _, path := range TypedPaths() {
				got, known := ElementTypeOf(v, typ, path)
				name, lists, err := cardinality.Element(md, path)
				want, ok := names[name]
				if err != nil || !ok {
					assert.False(t, known, "%v %s.%s", v, typ, path)
					continue
				}
				assert.True(t, known, "%v %s.%s", v, typ, path)
				assert.Equal(t, ElementType{Type: want, Lists: lists}, got, "%v %s.%s", v, typ, path)
			}
		}
	}
}

func TestElementTypeOf(t *testing.T) {
	for _, tc := range []struct {
		v         Version
		typ, path string
		want      ElementType
		known     bool
	}{
		{R4, "Observation", "category", ElementType{TypeCodeableConcept, 1}, true},
		{STU3, "Observation", "category", ElementType{TypeCodeableConcept, 1}, true},
		{R4, "Observation", "subject", ElementType{TypeReference, 0}, true},
		{R4, "Observation", "status", ElementType{TypeString, 0}, true},
		{R4, "Encounter", "class", ElementType{TypeCoding, 0}, true},
		{R4, "Condition", "clinicalStatus", ElementType{TypeCodeableConcept, 0}, true},
		{STU3, "Condition", "clinicalStatus", ElementType{TypeString, 0}, true},
		{R4, "Patient", "active", ElementType{TypeBoolean, 0}, true},
		{R4, "Observation", "meta.tag", ElementType{TypeCoding, 0b10}, true},
		{R4, "Bundle", "id", ElementType{TypeString, 0}, true},
		// Unknown: fail closed.
		{R4, "Observation", "patient", ElementType{}, false},
		{STU3, "Observation", "encounter", ElementType{}, false},
		{R4, "Observation", "focus", ElementType{}, false},
		{R4, "NoSuchType", "category", ElementType{}, false},
		{R4, "NoSuchType", "id", ElementType{}, false},
		{Version(9), "Observation", "category", ElementType{}, false},
	} {
		got, known := ElementTypeOf(tc.v, tc.typ, tc.path)
		assert.Equal(t, tc.known, known, "%v %s.%s", tc.v, tc.typ, tc.path)
		assert.Equal(t, tc.want, got, "%v %s.%s", tc.v, tc.typ, tc.path)
	}
}

func TestRelativeReference(t *testing.T) {
	for ref, want := range map[string]string{
		"Patient/123":                   "Patient 123",
		"Patient/123/_history/2":        "Patient 123",
		"Group/g-1":                     "Group g-1",
		"Patient?_id=456,x/Patient/123": "",
		"Patient?identifier=http://mrn|456&_tag=a/Patient/123": "",
		"https://other.example/fhir/Patient/123":               "",
		"patient/123":                                          "",
		"NoSuchType/123":                                       "",
		"Patient/123/":                                         "",
		"Patient/123/_history/":                                "",
		"Patient/123/x/Patient/1":                              "",
		"Patient/12 3":                                         "",
		"#p1":                                                  "",
		"urn:uuid:0b3c":                                        "",
		"/Patient/123":                                         "",
		"Patient/":                                             "",
		"":                                                     "",
	} {
		typ, id, ok := RelativeReference(R4, ref)
		got := ""
		if ok {
			got = typ + " " + id
		}
		assert.Equal(t, want, got, "%q", ref)
	}
}
