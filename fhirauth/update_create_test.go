package fhirauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Observations of Patient/123 by category, for the update-as-create tests.
const (
	socialObsOf123 = `{"resourceType":"Observation","id":"new1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"social-history"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
	labObsOf123    = `{"resourceType":"Observation","id":"new1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
)

// An update whose target does not exist creates it, so it must satisfy
// the constraints of the scope granting "c" exactly as a POST of the same
// body would: before, only the alternatives granting "u" were checked and
// CheckStored(nil) accepted whenever some scope granted "c" at all.
func TestUpdateAsCreateNeedsCreateConstraints(t *testing.T) {
	p := testPolicy(t)
	cases := []struct {
		name, scopes, patient, body string
		create                      bool // a missing target may be created
	}{
		{"user cu under lab + u, social body", "user/Observation.cu?category=laboratory user/Observation.u", "", socialObsOf123, false},
		{"patient cu under lab + u, social body", "launch/patient patient/Observation.cu?category=laboratory patient/Observation.u", "123", socialObsOf123, false},
		{"u under lab, cu under vital-signs, lab body", "user/Observation.u?category=laboratory user/Observation.cu?category=vital-signs", "", labObsOf123, false},
		{"c only under lab, u alone, lab body", "user/Observation.c?category=laboratory user/Observation.u", "", labObsOf123, false},
		// legitimate: the body satisfies the create scope's constraint
		{"user cu under lab + u, lab body", "user/Observation.cu?category=laboratory user/Observation.u", "", labObsOf123, true},
		{"patient cu under lab + u, lab body", "launch/patient patient/Observation.cu?category=laboratory patient/Observation.u", "123", labObsOf123, true},
		{"u under lab, cu under vital-signs, vital body", "user/Observation.u?category=laboratory user/Observation.cu?category=vital-signs", "", strings.Replace(vitalOf123, `"id":"2"`, `"id":"new1"`, 1), true},
		{"cu unconstrained", "user/Observation.cu", "", socialObsOf123, true},
		{"patient cu unconstrained", "launch/patient patient/Observation.cu", "123", socialObsOf123, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr := principal(t, tc.scopes, tc.patient)
			_, dc := authorize(t, p, pr, "POST", "/fhir/Observation", noID(tc.body), nil)
			_, d := authorize(t, p, pr, "PUT", "/fhir/Observation/new1", tc.body, nil)
			require.True(t, d.Allowed, "%d %s", d.Status, d.Reason)
			err := d.CheckStored(nil)
			if tc.create {
				assert.NoError(t, err, "update-as-create")
				assert.True(t, dc.Allowed, "a create of the same body: %s", dc.Reason)
				return
			}
			require.True(t, d.NeedsStoredCheck(), "only the stored check can refuse the create")
			require.ErrorIs(t, err, ErrConstraint)
			assert.Contains(t, err.Error(), "may not create it")
		})
	}
}

// An update of an existing resource is decided by the "u" scopes alone,
// whatever the create scope's constraints say about the new body.
func TestUpdateExistingUnderUpdateConstraint(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Observation.u?category=laboratory user/Observation.cu?category=vital-signs", "")
	_, d := authorize(t, p, pr, "PUT", "/fhir/Observation/1", obsOf123, nil)
	require.True(t, d.Allowed, d.Reason)
	assert.NoError(t, d.CheckStored([]byte(obsOf123)), "the stored lab Observation may be updated")
	assert.ErrorIs(t, d.CheckStored([]byte(socialObsOf123)), ErrConstraint, "the stored version must satisfy a u constraint")
	assert.ErrorIs(t, d.CheckStored(nil), ErrConstraint, "but not created: the vital-signs scope does not cover it")

	// Update without any constraint on u: a social-history body may
	// replace a stored one, but not be created under cu?category=laboratory.
	pr = principal(t, "user/Observation.cu?category=laboratory user/Observation.u", "")
	_, d = authorize(t, p, pr, "PUT", "/fhir/Observation/new1", socialObsOf123, nil)
	require.True(t, d.Allowed, d.Reason)
	assert.NoError(t, d.CheckStored([]byte(socialObsOf123)))
	assert.ErrorIs(t, d.CheckStored(nil), ErrConstraint)
}

// A conditional update creates when its search matches nothing, so a body
// outside the create scope's constraints needs the stored check (which a
// caller that cannot resolve the search, like the middleware, refuses),
// and the check refuses the create.
func TestConditionalUpdateCreateConstraints(t *testing.T) {
	p := testPolicy(t)
	social := `{"resourceType":"Observation","status":"final","category":[{"coding":[{"code":"social-history"}]}],"code":{"text":"x"}}`
	lab := `{"resourceType":"Observation","status":"final","category":[{"coding":[{"code":"laboratory"}]}],"code":{"text":"x"}}`
	pr := principal(t, "user/Observation.cus?category=laboratory user/Observation.us", "")

	_, d := authorize(t, p, pr, "PUT", "/fhir/Observation?identifier=urn:x|nomatch", social, nil)
	require.True(t, d.Allowed, d.Reason)
	require.True(t, d.NeedsStoredCheck(), "the create it may turn into is outside the c constraint")
	assert.ErrorIs(t, d.CheckStored(nil), ErrConstraint, "nothing matched: a create")
	assert.NoError(t, d.CheckStored([]byte(obsOf123)), "a match is updated under the unconstrained u")

	_, d = authorize(t, p, pr, "PUT", "/fhir/Observation?identifier=urn:x|nomatch", lab, nil)
	require.True(t, d.Allowed, d.Reason)
	assert.False(t, d.NeedsStoredCheck(), "the body satisfies the create scope")
}
