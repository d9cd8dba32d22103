package fhirspec

import (
	"testing"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec/internal/cardinality"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCardinalityMatchesProtos guards cardinality_gen.go against drift:
// every element path of the compartment tables has an entry, equal to what
// the google/fhir/go protos in go.mod say, and no entry is left over (run
// go generate after editing a compartment table or upgrading the protos).
func TestCardinalityMatchesProtos(t *testing.T) {
	for _, v := range []Version{STU3, R4} {
		res, err := cardinality.Resources(v.String())
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, typ := range PatientCompartmentTypes(v) {
			params, _ := PatientCompartment(v, typ)
			for _, p := range params {
				for _, path := range p.Paths {
					want, err := cardinality.Repeating(res[typ], path)
					require.NoError(t, err, "%v %s.%s", v, typ, path)
					got, known := repeatingOf(v, typ, path)
					assert.True(t, known, "%v %s.%s has no cardinality entry", v, typ, path)
					assert.Equal(t, want, got, "%v %s.%s", v, typ, path)
					seen[typ+"."+path] = true
				}
			}
		}
		assert.Len(t, repeatingTables[v], len(seen), "%v: entries for paths not in the compartment table", v)
	}
}

func TestSingleValuedPath(t *testing.T) {
	tests := []struct {
		v         Version
		typ, path string
		single    bool
		repeating string
	}{
		{R4, "Observation", "subject", true, ""},
		{STU3, "Observation", "subject", true, ""},
		{R4, "Observation", "performer", false, "performer"},
		{R4, "Group", "member.entity", false, "member"},
		{STU3, "Group", "member.entity", false, "member"},
		{R4, "Appointment", "participant.actor", false, "participant"},
		{R4, "Schedule", "actor", false, "actor"},
		{R4, "AuditEvent", "agent.who", false, "agent"},
		{STU3, "AuditEvent", "entity.reference", false, "entity"},
		{R4, "Provenance", "target", false, "target"},
		{R4, "Person", "link.target", false, "link"},
		{STU3, "Account", "subject", true, ""},
		{R4, "Account", "subject", false, "subject"},
		// Unknown: fail closed.
		{R4, "Observation", "focus", false, ""},
		{R4, "Observation", "Subject", false, ""},
		{R4, "NoSuchType", "subject", false, ""},
		{Version(0), "Observation", "subject", false, ""},
		{Version(9), "Observation", "subject", false, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.single, SingleValuedPath(tt.v, tt.typ, tt.path), "%v %s.%s", tt.v, tt.typ, tt.path)
		assert.Equal(t, tt.repeating, RepeatingElement(tt.v, tt.typ, tt.path), "%v %s.%s", tt.v, tt.typ, tt.path)
	}
}
