package fhirspec

import (
	"encoding/json"
	"errors"
	"github.com/go-json-experiment/json/jsontext"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzInPatientCompartment checks that InPatientCompartment never panics,
// agrees with PatientCompartments, and agrees with the encoding/json-based
// reference model whenever it accepts a document; whatever encoding/json
// rejects, it rejects too.
func FuzzInPatientCompartment(f *testing.F) {
	for _, tt := range membershipCases() {
		f.Add(tt.json, tt.patient, tt.v == R4)
	}
	f.Add(typicalObservation, "example", true)
	m4, err := NewMatcher(R4, WithBaseURL(base))
	if err != nil {
		f.Fatal(err)
	}
	m3, err := NewMatcher(STU3, WithBaseURL(base))
	if err != nil {
		f.Fatal(err)
	}
	bases := []string{base + "/"}
	f.Fuzz(func(t *testing.T, doc, patient string, r4 bool) {
		m := m3
		if r4 {
			m = m4
		}
		got, err := m.InPatientCompartment([]byte(doc), patient)
		_, ids, idsErr := m.PatientCompartments([]byte(doc))
		// The strict form refuses more, never reports other patients.
		if _, strictIDs, strictErr := m.PatientCompartmentsStrict([]byte(doc)); strictErr == nil {
			if idsErr != nil || !slices.Equal(ids, strictIDs) {
				t.Fatalf("strict %v/%v, plain %v/%v", strictIDs, strictErr, ids, idsErr)
			}
		} else if idsErr == nil && !errors.Is(strictErr, ErrUnverifiableReference) {
			// Or a misshapen compartment element, which only the
			// strict form refuses.
			var decoded map[string]any
			if !errors.Is(strictErr, ErrMalformedResource) || json.Unmarshal([]byte(doc), &decoded) != nil || !modelMisshapen(m.Version(), decoded) {
				t.Fatalf("strict error %v where plain accepts", strictErr)
			}
		}
		if _, _, strictErr := m.PatientCompartmentsStrict([]byte(doc)); idsErr == nil && strictErr == nil {
			var decoded map[string]any
			if json.Unmarshal([]byte(doc), &decoded) == nil && modelMisshapen(m.Version(), decoded) {
				t.Fatalf("strict accepts a misshapen compartment element")
			}
		}
		if !IsID(patient) {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("invalid patient id %q accepted: %v", patient, err)
			}
			return
		}
		if (err == nil) != (idsErr == nil) {
			t.Fatalf("InPatientCompartment err %v, PatientCompartments err %v", err, idsErr)
		}
		if err == nil && got != slices.Contains(ids, patient) {
			t.Fatalf("InPatientCompartment %v, PatientCompartments %v", got, ids)
		}
		if got && err != nil {
			t.Fatalf("true with error %v", err)
		}

		var decoded any
		if jerr := json.Unmarshal([]byte(doc), &decoded); jerr != nil {
			if err == nil {
				t.Fatalf("accepted what encoding/json rejects (%v)", jerr)
			}
			// The walk validates as it goes, but a document that is not
			// JSON is reported as malformed whatever it met first.
			if !json.Valid([]byte(doc)) && !errors.Is(err, ErrMalformedResource) {
				t.Fatalf("invalid JSON refused with %v, want ErrMalformedResource", err)
			}
			return
		}
		obj, ok := decoded.(map[string]any)
		if !ok {
			if err == nil {
				t.Fatalf("accepted a non-object")
			}
			return
		}
		want, werr := modelInCompartment(m.Version(), obj, patient, bases)
		if err != nil {
			// The scanner may refuse more than the model (ambiguous keys,
			// invalid UTF-8 or lone surrogate escapes, which encoding/json
			// v2 refuses too), for no other reason.
			if werr == nil && !errors.Is(err, ErrAmbiguousResource) && utf8.ValidString(doc) && jsontext.Value(doc).IsValid() {
				t.Fatalf("scanner error %v, model accepts", err)
			}
			return
		}
		if werr != nil {
			t.Fatalf("scanner accepted, model error %v", werr)
		}
		if got != want {
			t.Fatalf("scanner %v, model %v", got, want)
		}
	})
}
