package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/scope"
)

// lastnServer answers $lastn as a server that reads a POSTed Parameters
// body instead of the query does: with the Observations of the body's
// category.
func lastnServer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		category := r.URL.Query().Get("category")
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			var p struct {
				Parameter []struct{ Name, ValueString string }
			}
			_ = json.Unmarshal(b, &p)
			for _, x := range p.Parameter {
				if x.Name == "category" {
					category = x.ValueString
				}
			}
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"o1","status":"final",`+
			`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"`+category+`"}]}],"code":{"text":"x"}}}]}`)
	})
}

// A constrained scope (category=laboratory) and a registered search
// operation POSTed with the constraint's value in the query and another
// in the Parameters body, which the server reads: the constraint holds in
// the response.
func TestAttackSearchOperationBodyBesideQuery(t *testing.T) {
	e := newEnv(t, withInner(lastnServer()), withPolicy(fhirauth.WithOperation(fhirauth.OperationRule{
		Name: "lastn", Levels: fhirauth.TypeLevel, Types: []string{"Observation"}, Permission: scope.Search, Search: true})))
	tok := e.token("user/Observation.rs?category=laboratory", "")
	h := bearer(tok)
	h.Set("Content-Type", "application/fhir+json")
	res, body := e.request(t, http.MethodPost, "/fhir/Observation/$lastn?category=laboratory", h,
		`{"resourceType":"Parameters","parameter":[{"name":"category","valueString":"vital-signs"}]}`)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
	assert.NotContains(t, string(body), "vital-signs")
	res, body = e.get(t, "/fhir/Observation/$lastn?category=laboratory", tok)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", body)
	assert.Contains(t, string(body), "laboratory")
}
