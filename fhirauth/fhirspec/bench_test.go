package fhirspec

import (
	"encoding/json"
	"testing"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// typicalObservation is a ~1.5 KB vital-signs Observation in the shape of
// the FHIR R4 examples.
const typicalObservation = `{
  "resourceType": "Observation",
  "id": "blood-pressure",
  "meta": {"versionId": "3", "lastUpdated": "2024-05-01T10:00:00Z",
    "profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
  "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:187e0c12-8dd2-67e2-99b2-bf273c878281"}],
  "basedOn": [{"identifier": {"system": "https://acme.org/identifiers", "value": "1234"}}],
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "vital-signs", "display": "Vital Signs"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9",
    "display": "Blood pressure panel with all children optional"}], "text": "Blood pressure systolic & diastolic"},
  "subject": {"reference": "Patient/example", "display": "Peter James Chalmers"},
  "encounter": {"reference": "Encounter/e1"},
  "effectiveDateTime": "2012-09-17",
  "performer": [{"reference": "Practitioner/example"}],
  "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "code": "L", "display": "low"}], "text": "Below low normal"}],
  "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "368209003", "display": "Right arm"}]},
  "note": [{"text": "Patient/other was not involved"}],
  "component": [
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
     "valueQuantity": {"value": 107, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]},
     "valueQuantity": {"value": 60, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
  ]
}`

// BenchmarkInPatientCompartment compares the byte scanner with the
// obvious alternative, decoding into map[string]any first, and with its
// floor, validating the document alone (jsonsyntax.Valid, which the walk
// does on the way); both baselines are measured in the same run.
func BenchmarkInPatientCompartment(b *testing.B) {
	doc := []byte(typicalObservation)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			ok, err := InPatientCompartment(R4, doc, "example")
			if !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("baseline-valid-only", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if !jsonsyntax.Valid(doc) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("baseline-map-decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil {
				b.Fatal(err)
			}
			ok, err := modelInCompartment(R4, m, "example", nil)
			if !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
