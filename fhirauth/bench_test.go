package fhirauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
)

// benchScopes is a 10-scope patient-context token.
const benchScopes = "openid fhirUser launch/patient offline_access patient/Patient.rs patient/Observation.cruds patient/Condition.rs patient/Encounter.rs patient/MedicationRequest.rs patient/AllergyIntolerance.rs"

// transaction20 is a 20-entry transaction of creates and reads for Patient/123.
func transaction20() string {
	var entries []string
	for i := 0; i < 20; i++ {
		if i%4 == 3 {
			entries = append(entries, entry("GET", fmt.Sprintf("Observation?code=c%d", i), ""))
			continue
		}
		obs := fmt.Sprintf(`{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},"subject":{"reference":"Patient/123","display":"Smith"},"effectiveDateTime":"2024-01-%02dT10:00:00Z","issued":"2024-01-%02dT10:05:00Z","valueQuantity":{"value":%d,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}],"note":[{"text":"resting"}]}`, i%28+1, i%28+1, 60+i)
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:00000000-0000-0000-0000-%012d","request":{"method":"POST","url":"Observation"},"resource":%s}`, i, obs))
	}
	return bundle("transaction", entries...)
}

func BenchmarkDecide(b *testing.B) {
	p := testPolicy(b)
	pr := principal(b, benchScopes, "123")
	ctx := context.Background()

	b.Run("read", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/fhir/Observation/obs-1", nil)
		b.ReportAllocs()
		for b.Loop() {
			_, d := p.Authorize(ctx, pr, r)
			if !d.Allowed {
				b.Fatal(d.Reason)
			}
		}
	})
	b.Run("search", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/fhir/Observation?patient=123&_count=50", nil)
		b.ReportAllocs()
		for b.Loop() {
			_, d := p.Authorize(ctx, pr, r)
			if !d.Allowed {
				b.Fatal(d.Reason)
			}
		}
	})
	body := transaction20()
	b.Run("transaction20", func(b *testing.B) {
		r := httptest.NewRequest("POST", "/fhir", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/fhir+json")
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r.Body = readCloser(body)
			r.ContentLength = int64(len(body))
			_, d := p.Authorize(ctx, pr, r)
			if !d.Allowed {
				b.Fatal(d.Reason)
			}
		}
	})
	// Baseline in the same run: google/fhir/go's full unmarshal of the same
	// Bundle (what a decision must not need).
	b.Run("transaction20-baseline-google-fhir-unmarshal", func(b *testing.B) {
		um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
		if err != nil {
			b.Fatal(err)
		}
		raw := []byte(body)
		if _, err := um.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := um.Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// observation1800 is a ~1.8 KB vital-signs Observation of Patient/123, the
// size of a typical patient-context read response.
const observation1800 = `{
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
  "subject": {"reference": "Patient/123", "display": "Peter James Chalmers"},
  "encounter": {"reference": "Encounter/e1"},
  "effectiveDateTime": "2012-09-17",
  "issued": "2012-09-17T15:03:24.101+02:00",
  "performer": [{"reference": "Practitioner/example", "display": "Dr Adam Careful"}],
  "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "code": "L", "display": "low"}], "text": "Below low normal"}],
  "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "368209003", "display": "Right arm"}]},
  "note": [{"text": "Patient/456 was not involved; measured at rest, seated, after five minutes."}],
  "component": [
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"},
       {"system": "http://snomed.info/sct", "code": "271649006", "display": "Systolic blood pressure"}]},
     "valueQuantity": {"value": 107, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
     "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N", "display": "normal"}]}]},
    {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4", "display": "Diastolic blood pressure"}]},
     "valueQuantity": {"value": 60, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
     "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "L", "display": "low"}]}]}
  ]
}`

// BenchmarkCheckResponse measures the response checks the middleware runs
// for patient-context reads (checkRead on a ~1.8 KB Observation) and
// searches with includes (filterBundle on a 10-entry Bundle), with
// encoding/json.Valid on the same bytes as a baseline in the same run.
func BenchmarkCheckResponse(b *testing.B) {
	p := testPolicy(b)
	pr := principal(b, benchScopes, "123")
	ctx := context.Background()
	obs := []byte(observation1800)

	_, read := p.Authorize(ctx, pr, httptest.NewRequest("GET", "/fhir/Observation/blood-pressure", nil))
	if !read.NeedsResponseCheck() {
		b.Fatal("read needs no response check")
	}
	b.Run("resource", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(obs)))
		for b.Loop() {
			if err := read.checkRead(obs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resource-baseline-json-valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(obs)))
		for b.Loop() {
			if !json.Valid(obs) {
				b.Fatal("invalid")
			}
		}
	})

	_, search := p.Authorize(ctx, pr, httptest.NewRequest("GET", "/fhir/Observation?_include=Observation:subject:Patient", nil))
	if !search.ResponseIsBundle() {
		b.Fatal("search response is not checked as a Bundle")
	}
	entries := make([]string, 10)
	for i := range entries {
		entries[i] = `{"fullUrl":"http://fhir.test/fhir/Observation/o` + strconv.Itoa(i) + `","resource":` + observation1800 + `,"search":{"mode":"match"}}`
	}
	page := []byte(`{"resourceType":"Bundle","type":"searchset","total":10,"entry":[` + strings.Join(entries, ",") + `]}`)
	b.Run("bundle10", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, removed, err := search.filterBundle(page); err != nil || removed != 0 {
				b.Fatal(removed, err)
			}
		}
	})
}
