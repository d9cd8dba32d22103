package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// obsX1 is Observation x1 of Alice in the given category.
func obsX1(category string) string {
	return `{"resourceType":"Observation","id":"x1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` +
		category + `"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
}

// A PUT that would create a resource the create scope's constraint does
// not cover is refused before it reaches the server, as a POST of the
// same body is; one the constraint covers is created.
func TestUpdateAsCreateHonoursCreateConstraint(t *testing.T) {
	for _, tc := range []struct {
		name, scopes, patient, category string
		created                         bool
	}{
		{"patient cu under lab + u, social", "launch/patient patient/Observation.cu?category=laboratory patient/Observation.u", naivefhir.Alice, "social-history", false},
		{"user cu under lab + u, social", "user/Observation.cu?category=laboratory user/Observation.u", "", "social-history", false},
		{"u under lab, cu under vital, lab", "user/Observation.u?category=laboratory user/Observation.cu?category=vital-signs", "", "laboratory", false},
		{"patient cu under lab + u, lab", "launch/patient patient/Observation.cu?category=laboratory patient/Observation.u", naivefhir.Alice, "laboratory", true},
		{"u under lab, cu under vital, vital", "user/Observation.u?category=laboratory user/Observation.cu?category=vital-signs", "", "vital-signs", true},
		{"cu unconstrained", "user/Observation.cu", "", "social-history", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			h := bearer(e.token(tc.scopes, tc.patient))
			h.Set("Content-Type", "application/fhir+json")
			res, b := e.request(t, http.MethodPut, "/fhir/Observation/x1", h, obsX1(tc.category))
			_, stored := e.fhir.Get("Observation", "x1")
			if tc.created {
				require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
				assert.True(t, stored)
				return
			}
			assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.StatusCode, "%s", b)
			assert.False(t, stored, "the Observation was created outside the c constraint")

			// Nor through a batch entry.
			batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PUT","url":"Observation/x1"},"resource":` + obsX1(tc.category) + `}]}`
			res, b = e.request(t, http.MethodPost, "/fhir", h, batch)
			require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
			assert.Regexp(t, `"status":"40[34]`, string(b), "the entry is refused")
			_, stored = e.fhir.Get("Observation", "x1")
			assert.False(t, stored, "the batch entry created the Observation outside the c constraint")
		})
	}
}

// An update of an existing resource needs only the u scope: a
// social-history Observation stored under an unconstrained u may be
// replaced even though cu is constrained to laboratory.
func TestUpdateExistingUnderCreateConstraint(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.fhir.Put([]byte(obsX1("social-history"))))
	h := bearer(e.token("launch/patient patient/Observation.cu?category=laboratory patient/Observation.u", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	body := strings.Replace(obsX1("social-history"), `"final"`, `"amended"`, 1)
	res, b := e.request(t, http.MethodPut, "/fhir/Observation/x1", h, body)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
	stored, _ := e.fhir.Get("Observation", "x1")
	assert.Contains(t, string(stored), "amended")
}

// A conditional update may create; the middleware cannot resolve its
// search, so one whose body the create scope does not cover is refused.
func TestConditionalUpdateOutsideCreateConstraint(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.token("user/Observation.cus?category=laboratory user/Observation.us", ""))
	h.Set("Content-Type", "application/fhir+json")
	body := `{"resourceType":"Observation","status":"final","category":[{"coding":[{"code":"social-history"}]}],"code":{"text":"x"},"identifier":[{"system":"urn:x","value":"nomatch"}]}`
	n := len(e.fhir.Requests())
	res, b := e.request(t, http.MethodPut, "/fhir/Observation?identifier=urn:x|nomatch", h, body)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s", b)
	assert.Len(t, e.fhir.Requests(), n, "nothing reached the server")
}
