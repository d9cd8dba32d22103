package fhirspec

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourceTypeCounts(t *testing.T) {
	// The concrete resource types in the ContainedResource oneof of
	// google/fhir/go v0.7.4 (the abstract Resource and DomainResource are
	// not types a request can name).
	assert.Len(t, ResourceTypes(STU3), 117)
	assert.Len(t, ResourceTypes(R4), 146)
	assert.Nil(t, ResourceTypes(Version(0)))
	for _, v := range []Version{STU3, R4} {
		types := ResourceTypes(v)
		assert.True(t, slices.IsSorted(types), v)
		assert.Len(t, slices.Compact(slices.Clone(types)), len(types), "%v has duplicates", v)
		for _, typ := range types {
			assert.True(t, IsResourceType(v, typ), "%v %s", v, typ)
		}
	}
}

func TestIsResourceType(t *testing.T) {
	tests := []struct {
		name     string
		stu3, r4 bool
	}{
		{"Observation", true, true},
		{"Patient", true, true},
		{"Bundle", true, true},
		{"Binary", true, true},
		{"Parameters", true, true},
		{"MedicationStatement", true, true},
		{"Immunization", true, true},
		// Renamed or removed between releases.
		{"BodySite", true, false},
		{"BodyStructure", false, true},
		{"ProcedureRequest", true, false},
		{"ReferralRequest", true, false},
		{"ServiceRequest", false, true},
		{"EligibilityRequest", true, false},
		{"CoverageEligibilityRequest", false, true},
		{"Sequence", true, false},
		{"MolecularSequence", false, true},
		{"DataElement", true, false},
		{"ImagingManifest", true, false},
		{"MedicationKnowledge", false, true},
		{"Invoice", false, true},
		// Case confusion and other near misses.
		{"observation", false, false},
		{"OBSERVATION", false, false},
		{"Observation ", false, false},
		{" Observation", false, false},
		{"Observation/", false, false},
		{"Observations", false, false},
		{"", false, false},
		{"Resource", false, false},
		{"DomainResource", false, false},
		{"Observation\x00", false, false},
		{"Ｏbservation", false, false}, // fullwidth O
	}
	for _, tt := range tests {
		assert.Equal(t, tt.stu3, IsResourceType(STU3, tt.name), "STU3 %q", tt.name)
		assert.Equal(t, tt.r4, IsResourceType(R4, tt.name), "R4 %q", tt.name)
	}
	assert.False(t, IsResourceType(Version(0), "Observation"))
	assert.False(t, IsResourceType(Version(7), "Observation"))
}

func TestResourceTypesIsACopy(t *testing.T) {
	types := ResourceTypes(R4)
	require.Equal(t, "Account", types[0])
	types[0] = "Evil"
	assert.True(t, IsResourceType(R4, "Account"))
	assert.False(t, IsResourceType(R4, "Evil"))
	assert.Equal(t, "Account", ResourceTypes(R4)[0])
}

func TestIsResourceTypeDoesNotAllocate(t *testing.T) {
	name := string([]byte("MedicationRequest")) // not a constant
	allocs := testing.AllocsPerRun(100, func() {
		if !IsResourceType(R4, name) || IsResourceType(STU3, "observation") {
			t.Fatal("wrong answer")
		}
	})
	assert.Zero(t, allocs)
}

// One lookup of a type gives its name and its compartment definition,
// the same as the compartment table's own.
func TestLookupTypeCarriesTheCompartment(t *testing.T) {
	for _, v := range []Version{STU3, R4} {
		inCompartment := 0
		for _, name := range resourceTypes(v) {
			ti, ok := lookupType(v, name)
			if !ok || ti.name != name {
				t.Fatalf("%v %s: %+v %v", v, name, ti, ok)
			}
			if ti.compartment != compartments[v][name] {
				t.Fatalf("%v %s: compartment %p, table %p", v, name, ti.compartment, compartments[v][name])
			}
			if ti.compartment != nil {
				inCompartment++
			}
		}
		if inCompartment != len(compartments[v]) {
			t.Fatalf("%v: %d types with a compartment, table has %d", v, inCompartment, len(compartments[v]))
		}
	}
}
