package fhirauth

import (
	"context"
	"fmt"
	"net/http/httptest"
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
