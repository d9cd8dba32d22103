package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A create whose body has an id: FHIR has the server ignore it, but
// medplum's stores the resource under it, replacing the resource that
// has that id. With patient/ scopes a patient took over (and erased)
// another patient's Observation; under a v2 constraint a token rewrote a
// resource the constraint excludes; both with no stored-version check.
// Only a token that may update any resource of the type outside patient
// context may send one.
func TestAttackCreateWithIDReplaces(t *testing.T) {
	p := testPolicy(t)
	create := func(scopes, patient, body string, headers map[string]string) *Decision {
		_, d := authorize(t, p, principal(t, scopes, patient), "POST", "/fhir/Observation", body, headers)
		return d
	}
	ine := map[string]string{"If-None-Exist": "identifier=a|1"}
	for _, tc := range []struct {
		name, scopes, patient, body string
		headers                     map[string]string
		allow                       bool
	}{
		{"patient create naming another's id", patientAll, "123", obsOf123, nil, false},
		{"patient conditional create naming an id", patientAll, "123", obsOf123, ine, false},
		{"constrained create naming an id", "user/Observation.c?category=laboratory", "", obsOf123, nil, false},
		{"create without update", "user/Observation.c", "", obsOf123, nil, false},
		{"update only under a constraint", "user/Observation.c user/Observation.u?category=laboratory", "", obsOf123, nil, false},
		// legitimate
		{"patient create without id", patientAll, "123", noID(obsOf123), nil, true},
		{"constrained create without id", "user/Observation.c?category=laboratory", "", noID(obsOf123), nil, true},
		{"create and update unconstrained", "user/Observation.cu", "", obsOf123, nil, true},
		{"system backend loading with ids", "system/*.cruds", "", obsOf123, ine, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := create(tc.scopes, tc.patient, tc.body, tc.headers)
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
			if !tc.allow {
				assert.Equal(t, http.StatusForbidden, d.Status)
				assert.Contains(t, d.Reason, "has an id")
			}
		})
	}
	t.Run("transaction entry", func(t *testing.T) {
		body := bundle("transaction", entry("POST", "Observation", obsOf123))
		_, d := authorize(t, p, principal(t, patientAll, "123"), "POST", "/fhir", body, nil)
		assert.False(t, d.Allowed)
		assert.Contains(t, d.Reason, "has an id")
	})
}
