package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CheckStored(nil), "nothing is stored there": only an update that may
// create accepts it. A delete (or patch, or instance operation) of a
// missing resource is refused exactly like one of another patient's, so
// that the answers (404 under existence hiding) do not tell which ids
// exist: before, a missing one was forwarded (204) and another patient's
// refused (404).
func TestCheckStoredMissing(t *testing.T) {
	hide := testPolicy(t)
	show := testPolicy(t, WithExistenceHiding(false))
	cases := []struct {
		name, scopes, patient, method, target, body string
		policy                                      *Policy
		err                                         error // nil: a missing version is accepted
		status                                      int   // CheckStatus on error
	}{
		{"patient delete", patientAll + " patient/*.d", "123", "DELETE", "/fhir/Observation/1", "", hide, ErrOutsideCompartment, http.StatusNotFound},
		{"patient delete, no hiding", patientAll + " patient/*.d", "123", "DELETE", "/fhir/Observation/1", "", show, ErrOutsideCompartment, http.StatusForbidden},
		{"patient conditional delete", "patient/*.ds", "123", "DELETE", "/fhir/Observation?code=x", "", hide, ErrOutsideCompartment, http.StatusNotFound},
		{"user delete under a v2 constraint", "user/Observation.d?category=laboratory", "", "DELETE", "/fhir/Observation/1", "", hide, ErrConstraint, http.StatusNotFound},
		{"patient patch", "patient/*.ru", "123", "PATCH", "/fhir/Observation/1", `[{"op":"replace","path":"/status","value":"amended"}]`, hide, ErrOutsideCompartment, http.StatusNotFound},
		{"patient instance operation", "patient/*.r", "123", "GET", "/fhir/Observation/1/$summary", "", hide, ErrOutsideCompartment, http.StatusNotFound},
		// update-as-create is unchanged: allowed with c, refused without.
		{"patient update with c", "patient/*.cu", "123", "PUT", "/fhir/Observation/1", obsOf123, hide, nil, 0},
		{"patient update without c", "patient/*.u", "123", "PUT", "/fhir/Observation/1", obsOf123, hide, ErrConstraint, http.StatusNotFound},
		{"user update without c", "user/Observation.u", "", "PUT", "/fhir/Observation/1", obsOf123, hide, ErrConstraint, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, d := authorize(t, tc.policy, principal(t, tc.scopes, tc.patient), tc.method, tc.target, tc.body, nil)
			require.True(t, d.Allowed, d.Reason)
			require.True(t, d.NeedsStoredCheck())
			for _, missing := range [][]byte{nil, {}, []byte(" \r\n\t")} {
				err := d.CheckStored(missing)
				if tc.err == nil {
					assert.NoError(t, err)
					continue
				}
				require.ErrorIs(t, err, tc.err)
				assert.Equal(t, tc.status, d.CheckStatus())
			}
			if tc.err == ErrOutsideCompartment {
				// The answer for another patient's resource is the same.
				other := obsOf456
				assert.ErrorIs(t, d.CheckStored([]byte(other)), ErrOutsideCompartment)
			}
		})
	}
	// Without a stored check (user/ scopes, no constraint) there is nothing
	// to ask: the server answers for a missing resource itself.
	_, d := authorize(t, hide, principal(t, "user/Observation.d", ""), "DELETE", "/fhir/Observation/1", "", nil)
	require.True(t, d.Allowed)
	assert.False(t, d.NeedsStoredCheck())
	assert.NoError(t, d.CheckStored(nil))
}
