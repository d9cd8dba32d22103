package fhirauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// $everything returns every resource of the patient's record that the
// server finds, not resources the caller named by id: for each type but
// the Patient asked for it is a search, as an _include is. A token that
// may only read Observations by id ("r", no "s") must not enumerate them
// through $everything, in patient or in user context; nor may it name
// such a type in _type.
func TestEverythingNeedsSearchOnWhatItReturns(t *testing.T) {
	p := testPolicy(t)
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":` + patient123 + `},{"resource":` + obsOf123 + `}]}`
	for _, tc := range []struct {
		name, scopes, patient string
		keepObs, keepPatient  bool
	}{
		{"patient context, read only", "patient/Patient.r patient/Observation.r", "123", false, true},
		{"user context, read only", "user/Patient.r user/Observation.r", "", false, true},
		{"v1 read grants search", "patient/Patient.read patient/Observation.read", "123", true, true},
		{"search on Observation", "user/Patient.r user/Observation.rs", "", true, true},
		{"read only under a wildcard", "user/*.r user/Condition.s", "", false, true},
		{"letters of two scopes add up", "user/*.r user/Observation.s", "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, tc.scopes, tc.patient), "GET", "/fhir/Patient/123/$everything", "", nil)
			require.True(t, d.Allowed, "%d %s", d.Status, d.Reason)
			out, _, err := d.CheckResponse(http.StatusOK, []byte(bundle))
			require.NoError(t, err)
			assert.Equal(t, tc.keepObs, strings.Contains(string(out), `"resourceType":"Observation"`), "%s", out)
			assert.Equal(t, tc.keepPatient, strings.Contains(string(out), `"resourceType":"Patient"`), "%s", out)
		})
	}
	_, d := authorize(t, p, principal(t, "patient/Patient.rs patient/Observation.r", "123"), "GET", "/fhir/Patient/123/$everything?_type=Observation", "", nil)
	assert.False(t, d.Allowed, "_type naming a type the token may not search")
	assert.Equal(t, http.StatusForbidden, d.Status)
}

// An entry of $everything is a resource in hand: the token may return it
// when its scopes grant "r" and "s" on it, each letter by whichever
// scope grants it, under that scope's constraints.
func TestEverythingEntryLettersOneByOne(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		name, scopes    string
		keepLab, keepVS bool
	}{
		{"r on all, s on laboratory", "patient/Patient.r patient/Observation.r patient/Observation.s?category=laboratory", true, false},
		{"r on laboratory, s on all", "patient/Patient.r patient/Observation.r?category=laboratory patient/Observation.s", true, false},
		{"r and s on different categories", "patient/Patient.r patient/Observation.r?category=vital-signs patient/Observation.s?category=laboratory", false, false},
		{"rs on laboratory", "patient/Patient.r patient/Observation.rs?category=laboratory", true, false},
		{"r on laboratory only", "patient/Patient.r patient/Observation.r?category=laboratory", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, tc.scopes, "123"), "GET", "/fhir/Patient/123/$everything", "", nil)
			require.True(t, d.Allowed, "%d %s", d.Status, d.Reason)
			assert.Equal(t, tc.keepLab, d.CheckResult([]byte(obsOf123)) == nil, "laboratory")
			assert.Equal(t, tc.keepVS, d.CheckResult([]byte(vitalOf123)) == nil, "vital signs")
			assert.NoError(t, d.CheckResult([]byte(patient123)))
		})
	}
}
