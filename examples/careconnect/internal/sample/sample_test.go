package sample_test

import (
	"encoding/json"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

func TestLoadValidatesInBothVersions(t *testing.T) {
	for _, v := range []fhirversion.Version{fhirversion.STU3, fhirversion.R4} {
		t.Run(v.String(), func(t *testing.T) {
			val, err := store.NewValidator(v)
			require.NoError(t, err)
			s, err := store.New(val)
			require.NoError(t, err)
			require.NoError(t, sample.Load(s))
		})
	}
}

func TestNHSNumbers(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},
		{"9990000018", true},
		{"9434765918", false}, // wrong check digit
		{"0000000060", false}, // check digit would be 10
		{"943476591", false},  // too short
		{"94347659190", false},
		{"94347659a9", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := sample.ValidNHSNumber(tc.in); got != tc.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSampleShape(t *testing.T) {
	for _, v := range []fhirversion.Version{fhirversion.STU3, fhirversion.R4} {
		rs, err := sample.Resources(v)
		require.NoError(t, err)
		perPatient := map[string]map[string]int{}
		for _, r := range rs {
			var doc struct {
				Meta             struct{ Profile []string }
				Category         json.RawMessage
				Subject, Patient struct{ Reference string }
				Identifier       []struct{ System, Value string }
			}
			require.NoError(t, json.Unmarshal(r.JSON, &doc))
			require.Len(t, doc.Meta.Profile, 1, r.ID)
			if v == fhirversion.STU3 {
				require.Equal(t, "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-"+r.Type+"-1", doc.Meta.Profile[0])
			} else {
				require.Equal(t, "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"+r.Type, doc.Meta.Profile[0])
			}
			if r.Type == "Patient" {
				require.Equal(t, sample.NHSNumberSystem, doc.Identifier[0].System)
				require.True(t, sample.ValidNHSNumber(doc.Identifier[0].Value))
				continue
			}
			ref := doc.Subject.Reference + doc.Patient.Reference
			if ref == "" {
				continue // Organization, Practitioner
			}
			if perPatient[ref] == nil {
				perPatient[ref] = map[string]int{}
			}
			key := r.Type
			if r.Type == "Observation" {
				var cat []struct {
					Coding []struct{ Code string }
				}
				require.NoError(t, json.Unmarshal(doc.Category, &cat))
				key += "/" + cat[0].Coding[0].Code
			}
			perPatient[ref][key]++
		}
		require.Len(t, perPatient, 3, "three patients")
		for ref, types := range perPatient {
			for _, want := range []string{"Observation/laboratory", "Observation/vital-signs", "Encounter", "Condition", "Procedure",
				"AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Immunization"} {
				require.Equal(t, 1, types[want], "%s has one %s", ref, want)
			}
		}
	}
}
