package scope

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// typicalClaim is an 8-scope claim as a SMART patient-facing app receives it.
const typicalClaim = "openid fhirUser launch/patient offline_access patient/Patient.read " +
	"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory " +
	"patient/Condition.rs patient/MedicationRequest.read"

// tenScopeClaim is a 10-scope set with typed, wildcard and constrained scopes.
const tenScopeClaim = "openid fhirUser launch/patient user/Practitioner.read user/Organization.rs " +
	"patient/Patient.rs patient/Condition.rs patient/AllergyIntolerance.r " +
	"patient/Observation.rs?category=laboratory patient/Observation.s"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSet(typicalClaim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPermits(b *testing.B) {
	s, err := ParseSet(tenScopeClaim)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		typ  string
		p    Permission
		want Match
	}{
		{"unconstrained", "Condition", Read, Unconstrained},
		{"constrained", "Observation", Read, Constrained},
		{"denied", "Encounter", Read, Denied},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s.Permits(Patient, tc.typ, tc.p) != tc.want {
					b.Fatal("wrong decision")
				}
			}
		})
	}
}

func TestHotPathAllocations(t *testing.T) {
	s, err := ParseSet(tenScopeClaim)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([][]Constraint, 0, 8)
	checks := map[string]func(){
		"Permits/unconstrained": func() { s.Permits(Patient, "Condition", Read) },
		"Permits/constrained":   func() { s.Permits(Patient, "Observation", Read|Search) },
		"Permits/denied":        func() { s.Permits(Patient, "Encounter", Create) },
		"Permissions":           func() { s.Permissions(Patient, "Observation") },
		"AppendConstraints":     func() { dst = s.AppendConstraints(dst[:0], Patient, "Observation", Read) },
		"Has":                   func() { s.Has("launch/patient") },
		"HasContext":            func() { s.HasContext(User) },
	}
	for name, f := range checks {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}
