package fhirauth

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unusableCase is a scope claim (patient claim 1), the "interaction
// Type" pairs Explain must offer and must not, the scope it must report
// as not honoured ("" for none) and words of the reason.
type unusableCase struct {
	scopes, offer, refuse, notHonoured string
	reason                             []string
}

// unusableCases are constraints that name the token's patient in several
// spellings, another patient, or other resources, on compartment
// parameters and on others.
var unusableCases = []unusableCase{
	{scopes: "patient/Observation.c?patient=Patient/2", refuse: "create Observation",
		notHonoured: "patient/Observation.c?patient=Patient/2", reason: []string{"names Patient/2 in Observation.subject", "Patient/1's compartment alone"}},
	{scopes: "patient/Observation.c?subject=Patient/2", refuse: "create Observation",
		notHonoured: "patient/Observation.c?subject=Patient/2", reason: []string{"names Patient/2 in Observation.subject"}},
	{scopes: "patient/Observation.c?patient=2", refuse: "create Observation",
		notHonoured: "patient/Observation.c?patient=2", reason: []string{"names Patient/2"}},
	// The same patient, spelt the ways the constraint matcher reads.
	{scopes: "patient/Observation.cruds?patient=Patient/1", offer: "read Observation,search Observation,create Observation,update Observation,delete Observation"},
	{scopes: "patient/Observation.cruds?subject=1", offer: "read Observation,create Observation,update Observation,delete Observation"},
	{scopes: "patient/Observation.s?subject=1", offer: "search Observation"},
	// Spellings it never matches: absolute, versioned, another id.
	{scopes: "patient/Observation.cruds?subject=http://fhir.test/fhir/Patient/1",
		refuse:      "read Observation,search Observation,create Observation,update Observation,delete Observation",
		notHonoured: "patient/Observation.cruds?subject=http://fhir.test/fhir/Patient/1", reason: []string{"matches no Observation", "Type/id (relative)"}},
	{scopes: "patient/Observation.c?subject=Patient/1/_history/1", refuse: "create Observation",
		notHonoured: "patient/Observation.c?subject=Patient/1/_history/1", reason: []string{"matches no Observation"}},
	{scopes: "patient/Observation.cruds?subject=Patient/01", offer: "read Observation",
		refuse:      "search Observation,create Observation,update Observation,delete Observation",
		notHonoured: "patient/Observation.cruds?subject=Patient/01", reason: []string{"grants no search, create, update or delete of Observation", "Patient/01"}},
	// Alternatives: only the unusable one is left out.
	{scopes: "patient/Observation.c?patient=Patient/2 patient/Observation.c?category=laboratory", offer: "create Observation",
		notHonoured: "patient/Observation.c?patient=Patient/2", reason: []string{"names Patient/2"}},
	{scopes: "patient/Observation.c?patient=Patient/2 patient/Observation.c?patient=Patient/1", offer: "create Observation",
		notHonoured: "patient/Observation.c?patient=Patient/2", reason: []string{"names Patient/2"}},
	// OR-lists: usable when one item names the patient.
	{scopes: "patient/Observation.cus?patient=Patient/1,Patient/2", offer: "create Observation,update Observation,search Observation"},
	{scopes: "patient/Observation.cu?patient=Patient/2%2CPatient/3", refuse: "create Observation,update Observation",
		notHonoured: "patient/Observation.cu?patient=Patient/2%2CPatient/3", reason: []string{"names Patient/2"}},
	// Constraints that ask one element for two values.
	{scopes: "patient/Observation.cruds?patient=Patient/1&subject=Patient/2", refuse: "read Observation,create Observation",
		notHonoured: "patient/Observation.cruds?patient=Patient/1&subject=Patient/2", reason: []string{"Observation.subject holds one value"}},
	// Another patient in a compartment element that leaves another
	// for the token's patient: readable, never writable.
	{scopes: "patient/Observation.crd?performer=Patient/2", offer: "read Observation", refuse: "create Observation,delete Observation",
		notHonoured: "patient/Observation.crd?performer=Patient/2", reason: []string{"grants no create or delete of Observation", "Observation.performer"}},
	// Outside the compartment elements another patient is anybody.
	{scopes: "patient/Observation.cruds?focus=Patient/2", offer: "read Observation,create Observation,update Observation,delete Observation"},
	{scopes: "patient/Observation.cr?performer=Practitioner/5", offer: "read Observation,create Observation"},
	// Encounter has one compartment element: nothing else can hold
	// Patient/1.
	{scopes: "patient/Encounter.cruds?subject=Group/2", refuse: "read Encounter,search Encounter,create Encounter",
		notHonoured: "patient/Encounter.cruds?subject=Group/2", reason: []string{"an Encounter is in Patient/1's compartment only when Encounter.subject names Patient/1"}},
	{scopes: "patient/Basic.cr?subject=Group/2", offer: "read Basic,create Basic"},
	{scopes: "patient/Group.crs?member=Patient/2", offer: "read Group,search Group", refuse: "create Group",
		notHonoured: "patient/Group.crs?member=Patient/2", reason: []string{"grants no create of Group", "Group.member.entity"}},
	// The token's own Patient.
	{scopes: "patient/Patient.rus?_id=2", refuse: "read Patient,search Patient,update Patient",
		notHonoured: "patient/Patient.rus?_id=2", reason: []string{"a Patient other than the token's patient"}},
	{scopes: "patient/Patient.ru?_id=1", offer: "read Patient,update Patient"},
	{scopes: "patient/Patient.rud?link=Patient/2", offer: "read Patient,delete Patient", refuse: "update Patient",
		notHonoured: "patient/Patient.rud?link=Patient/2", reason: []string{"grants no update of Patient", "Patient.link.other"}},
	{scopes: "patient/Patient.u?gender=female", offer: "update Patient"},
	// A v1 scope grants without constraints: nothing to leave out.
	{scopes: "patient/Observation.write patient/Observation.c?patient=Patient/2", offer: "create Observation"},
	// "*" scopes: per type.
	{scopes: "patient/*.crs?patient=Patient/2", offer: "read Observation", refuse: "search Observation,create Observation,read Encounter",
		notHonoured: "patient/*.crs?patient=Patient/2", reason: []string{"grants no"}},
	// Outside patient context only the values themselves count.
	{scopes: "user/Observation.cruds?subject=Patient/2", offer: "read Observation,search Observation,create Observation,update Observation,delete Observation"},
	{scopes: "user/Condition.rs?subject=http://fhir.test/fhir/Patient/1", refuse: "read Condition,search Condition",
		notHonoured: "user/Condition.rs?subject=http://fhir.test/fhir/Patient/1", reason: []string{"matches no Condition"}},
	{scopes: "system/Observation.c?patient=Group/2", refuse: "create Observation",
		notHonoured: "system/Observation.c?patient=Group/2", reason: []string{"searches only Patient references"}},
}

// TestExplainUnusableConstraints pins what Explain offers, and what it
// reports as not honoured, for unusableCases, and holds both to
// Authorize: an offered interaction has a request built from its grant
// that is allowed (witness), a refused one has none built from any of
// the token's constraint alternatives (witnessGrant).
func TestExplainUnusableConstraints(t *testing.T) {
	pol := testPolicy(t)
	for _, c := range unusableCases {
		t.Run(c.scopes, func(t *testing.T) {
			pr := principal(t, c.scopes, "1")
			e := pol.Explain(context.Background(), pr)
			for _, want := range explainPairs(c.offer) {
				g, ok := findGrant(e, want[0], want[1])
				require.True(t, ok, "%s %s not offered: %s", want[0], want[1], e)
				if strings.HasPrefix(c.scopes, "patient/") {
					assert.Equal(t, "1", g.Patient)
				}
				used, tried := witness(pol, pr, g, want[1], want[0])
				assert.True(t, used, "%s %s: %v", want[0], want[1], tried)
			}
			for _, no := range explainPairs(c.refuse) {
				g, ok := findGrant(e, no[0], no[1])
				assert.False(t, ok, "%s %s offered as %+v: %s", no[0], no[1], g, e)
				g, ok = witnessGrant(pol, pr, no[1], no[0])
				assert.False(t, ok, "%s %s is usable under %+v", no[0], no[1], g)
			}
			i := slices.IndexFunc(e.NotHonoured, func(n NotHonoured) bool { return n.Scope == c.notHonoured })
			if c.notHonoured == "" {
				assert.Empty(t, e.NotHonoured)
				return
			}
			require.GreaterOrEqual(t, i, 0, "%s not reported: %s", c.notHonoured, e)
			for _, w := range c.reason {
				assert.Contains(t, e.NotHonoured[i].Reason, w)
			}
			assert.Contains(t, e.String(), "Not honoured: "+c.notHonoured+" (")
		})
	}
}

// explainPairs splits "read Observation,create Basic" into pairs.
func explainPairs(s string) [][2]string {
	var out [][2]string
	for item := range strings.SplitSeq(s, ",") {
		if in, typ, ok := strings.Cut(item, " "); ok {
			out = append(out, [2]string{in, typ})
		}
	}
	return out
}

// TestExplainWhereKeepsUsable checks that the grant's Where lists only
// the alternatives a request can use, for a type where one of two is not.
func TestExplainWhereKeepsUsable(t *testing.T) {
	e := testPolicy(t).Explain(context.Background(), principal(t, "patient/Observation.c?patient=Patient/2 patient/Observation.c?category=laboratory", "1"))
	g, ok := findGrant(e, ExplainCreate, "Observation")
	require.True(t, ok, e.String())
	assert.Equal(t, [][]string{{"category=laboratory"}}, g.Where)
	assert.Contains(t, e.String(), "May create Observation where category is laboratory, for Patient/1 only.")
}
