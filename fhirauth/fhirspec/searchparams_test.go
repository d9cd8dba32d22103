package fhirspec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec/internal/cardinality"
)

// TestSearchPathsMatchProtos guards searchparams_gen.go against drift of
// the protos: every element of every entry has, on every type the entry
// stands for, the data type, repeating segments and first element the
// google/fhir/go protos give (run the generator with -spec after
// upgrading them).
func TestSearchPathsMatchProtos(t *testing.T) {
	names := map[string]DataType{
		"CodeableConcept": TypeCodeableConcept, "Coding": TypeCoding, "Identifier": TypeIdentifier,
		"Reference": TypeReference, "code": TypeString, "string": TypeString, "id": TypeString,
		"uri": TypeString, "canonical": TypeString, "boolean": TypeBoolean,
	}
	for _, v := range []Version{STU3, R4} {
		res, err := cardinality.Resources(v.String())
		require.NoError(t, err)
		require.NotEmpty(t, searchTables[v])
		for key, paths := range searchTables[v] {
			typ, _, _ := strings.Cut(key, ".")
			types := []string{typ}
			if typ == "Resource" {
				types = ResourceTypes(v)
			}
			for _, rt := range types {
				require.Contains(t, res, rt, "%v %s", v, key)
				for _, sp := range paths {
					name, lists, err := cardinality.Element(res[rt], sp.Path)
					require.NoError(t, err, "%v %s on %s", v, key, rt)
					assert.Equal(t, names[name], sp.Type, "%v %s %s", v, key, sp.Path)
					assert.Equal(t, lists, sp.Lists, "%v %s %s", v, key, sp.Path)
					first, _, _ := strings.Cut(sp.Path, ".")
					if base, choice := strings.CutSuffix(sp.Element, "[x]"); choice {
						assert.True(t, strings.HasPrefix(first, base) && len(first) > len(base), "%v %s %s", v, key, sp.Element)
					} else {
						assert.Equal(t, first, sp.Element, "%v %s", v, key)
					}
					if sp.Type != TypeReference {
						assert.Empty(t, sp.Target, "%v %s", v, key)
					} else if sp.Target != "" {
						assert.True(t, IsResourceType(v, sp.Target), "%v %s %s", v, key, sp.Target)
					}
				}
			}
		}
	}
}

func TestSearchPaths(t *testing.T) {
	for _, tc := range []struct {
		v          Version
		typ, param string
		want       []SearchPath
	}{
		{R4, "Observation", "category", []SearchPath{{"category", "category", TypeCodeableConcept, 1, "", ""}}},
		{STU3, "Observation", "category", []SearchPath{{"category", "category", TypeCodeableConcept, 1, "", ""}}},
		{R4, "Observation", "subject", []SearchPath{{"subject", "subject", TypeReference, 0, "", ""}}},
		{R4, "Observation", "patient", []SearchPath{{"subject", "subject", TypeReference, 0, "Patient", ""}}},
		{STU3, "Observation", "patient", []SearchPath{{"subject", "subject", TypeReference, 0, "Patient", ""}}},
		{R4, "Observation", "status", []SearchPath{{"status", "status", TypeString, 0, "", ""}}},
		{R4, "Encounter", "class", []SearchPath{{"class", "class", TypeCoding, 0, "", ""}}},
		{R4, "Condition", "clinical-status", []SearchPath{{"clinicalStatus", "clinicalStatus", TypeCodeableConcept, 0, "", ""}}},
		{STU3, "Condition", "clinical-status", []SearchPath{{"clinicalStatus", "clinicalStatus", TypeString, 0, "", ""}}},
		{R4, "Patient", "active", []SearchPath{{"active", "active", TypeBoolean, 0, "", ""}}},
		{R4, "Observation", "_tag", []SearchPath{{"meta.tag", "meta", TypeCoding, 0b10, "", ""}}},
		{R4, "Bundle", "_id", []SearchPath{{"id", "id", TypeString, 0, "", ""}}},
		// The spec's expression, not the element of the same name.
		{R4, "Questionnaire", "code", []SearchPath{{"item.code", "item", TypeCoding, 0b11, "", ""}}},
		{R4, "MedicationRequest", "code", []SearchPath{{"medicationCodeableConcept", "medication[x]", TypeCodeableConcept, 0, "", "medication"}}},
		{R4, "AuditEvent", "patient", []SearchPath{{"agent.who", "agent", TypeReference, 1, "Patient", ""}, {"entity.what", "entity", TypeReference, 1, "Patient", ""}}},
		// Unknown or unreadable: fail closed.
		{R4, "Patient", "email", nil},         // telecom.where(system='email')
		{R4, "Patient", "name", nil},          // a string parameter
		{R4, "Observation", "date", nil},      // a date parameter
		{R4, "Patient", "category", nil},      // not a Patient parameter
		{R4, "Observation", "code:text", nil}, // a modifier
		{R4, "Observation", "_text", nil},
		{R4, "NoSuchType", "_id", nil},
		{Version(9), "Observation", "category", nil},
	} {
		got, known := SearchPaths(tc.v, tc.typ, tc.param)
		assert.Equal(t, tc.want != nil, known, "%v %s.%s", tc.v, tc.typ, tc.param)
		assert.Equal(t, tc.want, got, "%v %s.%s", tc.v, tc.typ, tc.param)
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
