package fhirauth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entryDecisions are decisions whose response checks differ: patient
// context with and without v2 constraints, includes of a compartment and
// a shared type, user context with constraints, and no check at all.
func entryDecisions(t testing.TB) map[string]*Decision {
	p := testPolicy(t)
	decide := func(scopes, patient, target string) *Decision {
		d := p.Decide(context.Background(), principal(t, scopes, patient), mustClassify(t, p, target))
		require.True(t, d.Allowed, "%s %s: %s", scopes, target, d.Reason)
		return d
	}
	return map[string]*Decision{
		"$everything":            decide(patientAll, "123", "/fhir/Patient/123/$everything"),
		"include Patient":        decide(patientAll, "123", "/fhir/Observation?_include=Observation:subject:Patient"),
		"include Practitioner":   decide(patientAll, "123", "/fhir/Observation?_include=Observation:performer:Practitioner"),
		"lab only, patient":      decide(labOnly+" patient/Patient.rs", "123", "/fhir/Observation?code=x&_include=Observation:subject:Patient"),
		"lab only, user":         decide("user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory user/Patient.rs", "", "/fhir/Patient?_revinclude=Observation:subject"),
		"paging continuation":    decide(patientAll, "123", "/fhir?_getpages=abc"),
		"no response check":      decide("user/*.rs", "", "/fhir/Observation?code=x"),
		"read, single resource":  decide(patientAll, "123", "/fhir/Observation/1"),
		"system search, _type":   decide("user/*.rs", "", "/fhir?_type=Observation,Condition&_include=*"),
		"$everything, no hiding": decide(patientAll, "456", "/fhir/Patient/456/$everything"),
	}
}

// entryResources are resources a hostile or naive server could return.
func entryResources() map[string]string {
	linkedB := `{"resourceType":"Patient","id":"456","link":[{"other":{"reference":"Patient/123"},"type":"seealso"}]}`
	oo := `{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational"}]}`
	return map[string]string{
		"A's Observation":               obsOf123,
		"B's Observation":               obsOf456,
		"A's vital signs":               vitalOf123,
		"A's and B's Observation":       obsBoth,
		"A":                             patient123,
		"B":                             patient456,
		"B linking to A":                linkedB,
		"shared Practitioner":           practBody,
		"unshared Organization":         orgBody,
		"OperationOutcome":              oo,
		"nested Bundle of B":            `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + obsOf456 + `}]}`,
		"duplicate subject":             `{"resourceType":"Observation","subject":{"reference":"Patient/123"},"subject":{"reference":"Patient/456"}}`,
		"duplicate resourceType":        `{"resourceType":"Observation","resourceType":"Patient","id":"123"}`,
		"escaped resourceType key":      `{"resource\u0054ype":"Observation","subject":{"reference":"Patient/123"}}`,
		"case-variant id":               `{"resourceType":"Patient","id":"123","ID":"456"}`,
		"invalid UTF-8 reference":       "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/123\xff\"}}",
		"no resourceType":               `{"subject":{"reference":"Patient/123"}}`,
		"unknown type":                  `{"resourceType":"Nonsense","id":"1"}`,
		"a string":                      `"Patient/123"`,
		"an array":                      `[` + obsOf123 + `]`,
		"null":                          `null`,
		"empty object":                  `{}`,
		"Condition of A":                `{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/123"}}`,
		"Condition of B":                `{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/456"}}`,
		"lab Observation, no subject":   `{"resourceType":"Observation","id":"n","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}]}`,
		"A's Observation in whitespace": " \n" + obsOf123 + "\t ",
	}
}

// keptByFilterBundle reports whether filterBundle keeps a one-entry
// Bundle's entry holding res.
func keptByFilterBundle(t testing.TB, d *Decision, res string) bool {
	t.Helper()
	in := []byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"x","resource":` + res + `,"search":{"mode":"match"}}]}`)
	if !d.NeedsResponseCheck() {
		out, _, err := d.filterBundle(in)
		return err == nil && string(out) == string(in)
	}
	if !json.Valid([]byte(res)) {
		// Bytes that are not one JSON value can close the entry they are
		// spliced into and open members of their own (`{...}}],"x":[{`),
		// so the Bundle would say nothing about them; no entry of a
		// Bundle filterBundle reads is such bytes, and CheckEntry refuses
		// them.
		return false
	}
	out, removed, err := d.filterBundle(in)
	if err != nil {
		return false // a Bundle that cannot be read keeps nothing
	}
	return removed == 0 && strings.Contains(string(out), `"entry":[{`)
}

// checkEntry(resource) is nil exactly when filterBundle keeps the entry
// holding that resource, for every decision and resource above.
func TestCheckEntryAgreesWithFilterBundle(t *testing.T) {
	kept := 0
	for dn, d := range entryDecisions(t) {
		for rn, res := range entryResources() {
			err := d.checkEntry([]byte(res))
			want := keptByFilterBundle(t, d, res)
			if want {
				kept++
			}
			assert.Equal(t, want, err == nil, "%s / %s: CheckEntry says %v", dn, rn, err)
			if err != nil {
				assert.True(t, errors.Is(err, ErrNotJSON) || errors.Is(err, ErrOutsideCompartment) || errors.Is(err, ErrConstraint), "%s / %s: %v", dn, rn, err)
			}
		}
	}
	assert.Greater(t, kept, 20, "the table must keep some entries, not only refuse")
}

// Spot checks of what CheckEntry answers (the property above says that it
// agrees with filterBundle; these say that both are right).
func TestCheckEntry(t *testing.T) {
	ds := entryDecisions(t)
	for _, tc := range []struct {
		decision, resource string
		err                error // nil: kept
	}{
		{"$everything", "A's Observation", nil},
		{"$everything", "B's Observation", ErrOutsideCompartment},
		{"$everything", "B linking to A", ErrOutsideCompartment},
		{"$everything", "A", nil},
		{"$everything", "shared Practitioner", nil},
		{"$everything", "unshared Organization", ErrOutsideCompartment},
		{"$everything", "OperationOutcome", nil},
		{"$everything", "nested Bundle of B", ErrOutsideCompartment},
		{"$everything", "invalid UTF-8 reference", ErrOutsideCompartment},
		{"$everything", "duplicate subject", ErrNotJSON},
		{"$everything", "escaped resourceType key", ErrNotJSON},
		{"$everything", "a string", ErrNotJSON},
		{"$everything", "null", ErrNotJSON},
		{"include Patient", "Condition of A", nil}, // patient/*.rs: any compartment type of A
		{"lab only, patient", "A's vital signs", ErrConstraint},
		{"lab only, patient", "A's Observation", nil},
		{"lab only, patient", "B's Observation", ErrOutsideCompartment},
		{"lab only, patient", "Condition of A", ErrConstraint},
		{"lab only, user", "lab Observation, no subject", nil},
		{"lab only, user", "A's vital signs", ErrConstraint},
		{"no response check", "B's Observation", nil},
		{"no response check", "a string", nil},
	} {
		t.Run(tc.decision+"/"+tc.resource, func(t *testing.T) {
			res, ok := entryResources()[tc.resource]
			require.True(t, ok)
			err := ds[tc.decision].checkEntry([]byte(res))
			if tc.err == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.err)
		})
	}
	assert.ErrorIs(t, ds["$everything"].checkEntry(nil), ErrNotJSON)
	assert.ErrorIs(t, ds["$everything"].checkEntry([]byte(obsOf123+"{}")), ErrNotJSON)
}

// storedDecisions are writes whose stored version CheckStored checks:
// under patient context (the one-pass case), with a v2 constraint too,
// and without patient context.
func storedDecisions(t testing.TB) map[string]*Decision {
	p := testPolicy(t)
	update := func(scopes, patient string) *Decision {
		_, d := authorize(t, p, principal(t, scopes, patient), "PUT", "/fhir/Observation/1", obsOf123, nil)
		require.True(t, d.Allowed && d.NeedsStoredCheck(), "%s: %s", scopes, d.Reason)
		return d
	}
	return map[string]*Decision{
		"patient update":             update(patientAll, "123"),
		"constrained patient update": update("launch/patient patient/Observation.cru?category=laboratory", "123"),
		"constrained user update":    update("user/Observation.u?category=laboratory", ""),
	}
}

// FuzzCheckEntry: for any resource bytes, CheckEntry agrees with
// filterBundle on a one-entry Bundle, and the one-pass shortcuts of
// checkRead and CheckStored never accept what their full checks refuse.
func FuzzCheckEntry(f *testing.F) {
	for _, res := range entryResources() {
		f.Add([]byte(res))
	}
	f.Add([]byte(observation1800))
	ds := entryDecisions(f)
	stored := storedDecisions(f)
	names := make([]string, 0, len(ds))
	for n := range ds {
		names = append(names, n)
	}
	f.Fuzz(func(t *testing.T, res []byte) {
		for _, n := range names {
			d := ds[n]
			if got, want := d.checkEntry(res) == nil, keptByFilterBundle(t, d, string(res)); got != want {
				t.Fatalf("%s: CheckEntry kept %v, filterBundle kept %v: %q", n, got, want, res)
			}
			if d.NeedsResponseCheck() && !d.ResponseIsBundle() && d.acceptsInOnePass(res) {
				if err := d.checkReadFully(res); err != nil {
					t.Fatalf("%s: one-pass check accepted what the full check refuses (%v): %q", n, err, res)
				}
			}
		}
		for n, d := range stored {
			if d.storedInOnePass(res) {
				if err := d.checkStoredFully(res); err != nil {
					t.Fatalf("%s: one-pass stored check accepted what the full check refuses (%v): %q", n, err, res)
				}
			}
		}
	})
}

// TestCheckStoredOnePass: CheckStored gives the full sequence's answer,
// word for word, on every resource of entryResources, and takes the
// one-pass path for a patient's own resource.
func TestCheckStoredOnePass(t *testing.T) {
	ds := storedDecisions(t)
	for dn, d := range ds {
		for rn, res := range entryResources() {
			got, want := d.CheckStored([]byte(res)), d.checkStoredFully([]byte(res))
			if want == nil {
				assert.NoError(t, got, "%s, %s", dn, rn)
				continue
			}
			assert.EqualError(t, got, want.Error(), "%s, %s", dn, rn)
		}
	}
	assert.True(t, ds["patient update"].storedInOnePass([]byte(obsOf123)))
	assert.False(t, ds["patient update"].storedInOnePass([]byte(obsBoth)), "two patients")
	assert.False(t, ds["patient update"].storedInOnePass([]byte(patient123)), "another type")
	lab := `{"resourceType":"Observation","id":"1","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"subject":{"reference":"Patient/123"}}`
	assert.True(t, ds["constrained patient update"].storedInOnePass([]byte(lab)))
	assert.False(t, ds["constrained patient update"].storedInOnePass([]byte(vitalOf123)), "constraint fails")
	assert.False(t, ds["constrained user update"].storedInOnePass([]byte(lab)), "no patient context: full sequence")
	assert.ErrorIs(t, ds["constrained patient update"].CheckStored([]byte(vitalOf123)), ErrConstraint)
	assert.NoError(t, ds["constrained patient update"].CheckStored([]byte(lab)))
}
