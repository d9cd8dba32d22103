package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// A create whose category holds laboratory only in members a
// CodeableConcept or Coding does not have is refused and not stored.
func TestCreateConstraintIgnoresForeignMembers(t *testing.T) {
	e := newEnv(t)
	h := bearer(e.token("launch/patient patient/Observation.c?category=laboratory", naivefhir.Alice))
	h.Set("Content-Type", "application/fhir+json")
	for _, cat := range []string{
		`[{"coding":[{"code":"social-history","value":"laboratory"}]}]`,
		`[{"coding":[{"code":"social-history"}],"code":"laboratory"}]`,
		`"laboratory"`,
	} {
		n := len(e.fhir.Requests())
		body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"category":` + cat + `}`
		res, b := e.request(t, http.MethodPost, "/fhir/Observation", h, body)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s: %s", cat, b)
		assert.Len(t, e.fhir.Requests(), n, "%s reached the server", cat)
	}
	body := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}]}`
	res, b := e.request(t, http.MethodPost, "/fhir/Observation", h, body)
	assert.Equal(t, http.StatusCreated, res.StatusCode, "%s", b)
}
