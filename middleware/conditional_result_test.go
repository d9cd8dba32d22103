package middleware_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// A result parameter in the search of a conditional write (_include,
// _revinclude, _summary, ...) made the decision expect a Bundle: the
// server wrote, and the client got 502 for a write that happened. It is
// now refused with 400 and an OperationOutcome naming it, before
// anything reaches the server; _id and search parameters pass.
func TestConditionalWriteWithResultParameter(t *testing.T) {
	const obs = `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	tx := func(entry string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + entry + `]}`
	}
	for _, c := range []struct {
		name, scope, method, path, ine, body, param string
	}{
		{"create, patient", "patient/*.crs", "POST", "/fhir/Observation", "identifier=x&_include=Observation:subject:Patient", obs, "_include"},
		{"create, user", "user/Observation.crs", "POST", "/fhir/Observation", "Observation?_revinclude=Provenance:target&identifier=x", obs, "_revinclude"},
		{"create, _summary", "user/Observation.crs", "POST", "/fhir/Observation", "identifier=x&_summary=count", obs, "_summary"},
		{"update", "user/Observation.cruds", "PUT", "/fhir/Observation?identifier=x&_include=Observation:subject", "", obs, "_include"},
		{"delete", "user/Observation.cruds", "DELETE", "/fhir/Observation?identifier=x&_count=1", "", "", "_count"},
		{"transaction ifNoneExist", "patient/Observation.crs", "POST", "/fhir", "",
			tx(`{"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=x&_include:iterate=Observation:subject"},"resource":` + obs + `}`), "_include:iterate"},
		{"transaction update", "user/Observation.cruds", "POST", "/fhir", "",
			tx(`{"request":{"method":"PUT","url":"Observation?identifier=x&_elements=id"},"resource":` + obs + `}`), "_elements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			h := bearer(e.token(c.scope, naivefhir.Alice))
			if c.body != "" {
				h.Set("Content-Type", "application/fhir+json")
			}
			if c.ine != "" {
				h.Set("If-None-Exist", c.ine)
			}
			res, body := e.request(t, c.method, c.path, h, c.body)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, "body: %s", body)
			o := parseOutcome(t, body)
			assert.Equal(t, "invalid", o.Issue[0].Code)
			assert.Contains(t, o.Issue[0].Diagnostics, c.param)
			assert.Empty(t, e.fhir.Requests(), "nothing reaches the server")
			assert.Equal(t, http.StatusBadRequest, e.lastAudit(t).Status)
		})
	}
	t.Run("search parameters and _id pass", func(t *testing.T) {
		e := newEnv(t)
		h := bearer(e.token("patient/Observation.crs", naivefhir.Alice))
		h.Set("Content-Type", "application/fhir+json")
		h.Set("If-None-Exist", "_id=nope&identifier=x")
		res, body := e.request(t, http.MethodPost, "/fhir/Observation", h, obs)
		require.Equal(t, http.StatusCreated, res.StatusCode, "body: %s", body)
	})
}
