package fhirspec

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// paramMap flattens PatientCompartment's answer for comparisons.
func paramMap(t *testing.T, v Version, typ string) map[string][]string {
	t.Helper()
	params, ok := PatientCompartment(v, typ)
	require.True(t, ok, "%v %s should be in the patient compartment", v, typ)
	out := map[string][]string{}
	for _, p := range params {
		out[p.Name] = p.Paths
	}
	return out
}

func TestPatientCompartmentKeyFacts(t *testing.T) {
	tests := []struct {
		v    Version
		typ  string
		want map[string][]string
	}{
		// Observation: subject and performer in both; the R4 copy in
		// google/fhir-gateway also lists patient (same element as subject).
		{STU3, "Observation", map[string][]string{"subject": {"subject"}, "performer": {"performer"}}},
		{R4, "Observation", map[string][]string{"subject": {"subject"}, "patient": {"subject"}, "performer": {"performer"}}},
		{STU3, "Encounter", map[string][]string{"patient": {"subject"}}},
		{R4, "Encounter", map[string][]string{"patient": {"subject"}}},
		{STU3, "AllergyIntolerance", map[string][]string{"patient": {"patient"}, "recorder": {"recorder"}, "asserter": {"asserter"}}},
		{R4, "AllergyIntolerance", map[string][]string{"patient": {"patient"}, "recorder": {"recorder"}, "asserter": {"asserter"}}},
		// Immunization uses a patient element in both releases;
		// MedicationStatement and MedicationRequest use subject in both.
		{STU3, "Immunization", map[string][]string{"patient": {"patient"}}},
		{R4, "Immunization", map[string][]string{"patient": {"patient"}}},
		{STU3, "MedicationStatement", map[string][]string{"subject": {"subject"}}},
		{R4, "MedicationStatement", map[string][]string{"subject": {"subject"}}},
		{R4, "MedicationRequest", map[string][]string{"subject": {"subject"}}},
		// Patient: its link parameter (plus its own id, not a parameter).
		{STU3, "Patient", map[string][]string{"link": {"link.other"}}},
		{R4, "Patient", map[string][]string{"link": {"link.other"}}},
		{R4, "Person", map[string][]string{"patient": {"link.target"}}},
		// Backbone paths.
		{R4, "Appointment", map[string][]string{"actor": {"participant.actor"}}},
		{R4, "CarePlan", map[string][]string{"patient": {"subject"}, "performer": {"activity.detail.performer"}}},
		{R4, "Group", map[string][]string{"member": {"member.entity"}}},
		{R4, "Coverage", map[string][]string{"policy-holder": {"policyHolder"}, "subscriber": {"subscriber"}, "beneficiary": {"beneficiary"}, "payor": {"payor"}}},
		// Release differences.
		{STU3, "CommunicationRequest", map[string][]string{"subject": {"subject"}, "sender": {"sender"}, "recipient": {"recipient"}, "requester": {"requester.agent"}}},
		{R4, "CommunicationRequest", map[string][]string{"subject": {"subject"}, "sender": {"sender"}, "recipient": {"recipient"}, "requester": {"requester"}}},
		{STU3, "AuditEvent", map[string][]string{"patient": {"agent.reference", "entity.reference"}, "agent.patient": nil, "entity.patient": nil}},
		{R4, "AuditEvent", map[string][]string{"patient": {"agent.who", "entity.what"}}},
		{STU3, "Provenance", map[string][]string{"target.subject": nil, "target.patient": nil, "patient": {"target"}}},
		{R4, "Provenance", map[string][]string{"patient": {"target"}}},
		{STU3, "SupplyRequest", map[string][]string{"requester": {"requester.agent"}}},
		{R4, "SupplyRequest", map[string][]string{"subject": {"deliverTo"}}},
		{STU3, "EnrollmentRequest", map[string][]string{"subject": {"subject"}}},
		{R4, "EnrollmentRequest", map[string][]string{"subject": {"candidate"}}},
		{STU3, "ImagingStudy", map[string][]string{"patient": {"patient"}}},
		{R4, "ImagingStudy", map[string][]string{"patient": {"subject"}}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, paramMap(t, tt.v, tt.typ), "%v %s", tt.v, tt.typ)
	}
}

func TestPatientCompartmentMembershipOfTypes(t *testing.T) {
	tests := []struct {
		typ      string
		stu3, r4 bool
	}{
		{"Observation", true, true},
		{"Patient", true, true},
		{"BodySite", true, false},
		{"BodyStructure", false, true},
		{"ProcedureRequest", true, false},
		{"ServiceRequest", false, true},
		{"ReferralRequest", true, false},
		{"ImagingManifest", true, false},
		{"EligibilityRequest", true, false},
		{"CoverageEligibilityRequest", false, true},
		{"Invoice", false, true},
		{"MolecularSequence", false, true},
		{"ImmunizationEvaluation", false, true},
		// Listed by the definitions as never in the compartment.
		{"Practitioner", false, false},
		{"Organization", false, false},
		{"Medication", false, false},
		{"Location", false, false},
		{"Device", false, false},
		{"Bundle", false, false},
		{"Binary", false, false},
		{"Contract", false, false},
		{"Task", false, false},
		{"Slot", false, false},
		{"ResearchStudy", false, false},
		// Not types at all.
		{"observation", false, false},
		{"OBSERVATION", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		_, ok := PatientCompartment(STU3, tt.typ)
		assert.Equal(t, tt.stu3, ok, "STU3 %q", tt.typ)
		_, ok = PatientCompartment(R4, tt.typ)
		assert.Equal(t, tt.r4, ok, "R4 %q", tt.typ)
	}
	_, ok := PatientCompartment(Version(0), "Observation")
	assert.False(t, ok)
}

func TestPatientCompartmentTypes(t *testing.T) {
	// The number of resource entries with a "param" list in each
	// CompartmentDefinition.
	assert.Len(t, PatientCompartmentTypes(STU3), 64)
	assert.Len(t, PatientCompartmentTypes(R4), 66)
	assert.Nil(t, PatientCompartmentTypes(Version(0)))
	for _, v := range []Version{STU3, R4} {
		types := PatientCompartmentTypes(v)
		assert.True(t, slices.IsSorted(types))
		for _, typ := range types {
			require.True(t, IsResourceType(v, typ), "%v %s", v, typ)
			params, ok := PatientCompartment(v, typ)
			require.True(t, ok)
			require.NotEmpty(t, params)
			for _, p := range params {
				assert.Equal(t, p.Chained(), strings.Contains(p.Name, "."), "%v %s %s", v, typ, p.Name)
				for _, path := range p.Paths {
					for seg := range strings.SplitSeq(path, ".") {
						assert.Regexp(t, `^[a-z][A-Za-z]*$`, seg, "%v %s %s", v, typ, p.Name)
					}
				}
			}
		}
	}
}

func TestPatientCompartmentReturnsACopy(t *testing.T) {
	params, ok := PatientCompartment(R4, "Encounter")
	require.True(t, ok)
	params[0].Name = "evil"
	params[0].Paths[0] = "note"
	again, _ := PatientCompartment(R4, "Encounter")
	assert.Equal(t, []CompartmentParam{{Name: "patient", Paths: []string{"subject"}}}, again)
	types := PatientCompartmentTypes(R4)
	types[0] = "Evil"
	assert.NotEqual(t, "Evil", PatientCompartmentTypes(R4)[0])
}

func TestIsPatientCompartmentParam(t *testing.T) {
	assert.True(t, IsPatientCompartmentParam(R4, "Observation", "subject"))
	assert.True(t, IsPatientCompartmentParam(R4, "Observation", "performer"))
	assert.True(t, IsPatientCompartmentParam(R4, "Observation", "patient"))
	assert.False(t, IsPatientCompartmentParam(STU3, "Observation", "patient"))
	assert.False(t, IsPatientCompartmentParam(R4, "Observation", "Subject"))
	assert.False(t, IsPatientCompartmentParam(R4, "Observation", "code"))
	assert.False(t, IsPatientCompartmentParam(R4, "observation", "subject"))
	assert.False(t, IsPatientCompartmentParam(R4, "Practitioner", "name"))
	assert.True(t, IsPatientCompartmentParam(STU3, "AuditEvent", "agent.patient"))
	assert.False(t, IsPatientCompartmentParam(Version(0), "Observation", "subject"))
	allocs := testing.AllocsPerRun(100, func() { IsPatientCompartmentParam(R4, "Coverage", "payor") })
	assert.Zero(t, allocs)
}

func TestCompileCompartmentRejectsBadTables(t *testing.T) {
	for _, table := range []string{
		"observation subject=subject", // mis-cased type
		"Observation",                 // no params
		"Observation subject=subject\nObservation subject=subject", // duplicate type
		"Observation subject=",     // empty path
		"Observation subject=a..b", // empty segment
		"Observation =subject",     // empty name
		"Observation subject",      // no path, not chained
		"Observation a.b=subject",  // chained with a path
	} {
		assert.Panics(t, func() { compileCompartment(R4, table) }, table)
	}
}

// The walk's filter (mayDecide) lets through every name that decides
// membership at the node, and its case variants (same length), at the
// root also "id" and "resourceType", every key of 64 bytes or more and
// every key that is not plain; a plain member of another length is
// stepped over without comparing its name.
func TestPathNodeLens(t *testing.T) {
	stops := func(n *pathNode, key string, root bool) bool {
		assert.True(t, n.mayDecide(key, false, root), "%q not plain", key)
		return n.mayDecide(key, true, root)
	}
	var walk func(n *pathNode, root bool)
	checked := 0
	walk = func(n *pathNode, root bool) {
		names := []string{}
		for _, c := range n.children {
			names = append(names, c.name)
		}
		if n.ref {
			names = append(names, "reference")
		}
		if root {
			names = append(names, "id", "resourceType")
		}
		lengths := map[int]bool{}
		for _, name := range names {
			lengths[len(name)] = true
			assert.True(t, stops(n, name, root), name)
			assert.True(t, stops(n, strings.ToUpper(name), root), name)
			checked++
		}
		for l := 0; l < 64; l++ {
			assert.Equal(t, lengths[l], stops(n, strings.Repeat("x", l), root), "length %d at %q", l, n.name)
		}
		assert.True(t, stops(n, strings.Repeat("x", 64), root))
		assert.True(t, stops(n, strings.Repeat("x", 200), root))
		for _, c := range n.children {
			walk(c, false)
		}
	}
	for _, v := range []Version{STU3, R4} {
		for _, ct := range compartments[v] {
			walk(&ct.root, true)
		}
	}
	assert.Greater(t, checked, 100)
}
