package fhirauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The search of a conditional write (If-None-Exist of a create, the query
// of a conditional update, patch or delete, and their forms in Bundle
// entries) only selects the resource to write: FHIR gives it search
// parameters, not the result parameters that shape a search's answer.
// One there (an _include would make the decision expect a Bundle, so that
// a write that happened would be answered 502) is refused up front with
// 400, naming it; _id and ordinary search parameters still work.
func TestConditionalWriteRefusesResultParameters(t *testing.T) {
	p := testPolicy(t)
	for _, scopes := range []struct{ scopes, patient string }{{"user/*.cruds", ""}, {"launch/patient patient/*.cruds", "123"}} {
		pr := principal(t, scopes.scopes, scopes.patient)
		ine := func(q string) map[string]string { return map[string]string{"If-None-Exist": q} }
		for _, param := range []string{
			"_include=Observation:subject", "_include:iterate=Observation:subject", "_include=*",
			"_revinclude=Provenance:target", "_revinclude:iterate=Provenance:target",
			"_summary=count", "_elements=id", "_count=1", "_sort=-date", "_total=accurate",
			"_contained=false", "_containedType=container", "_offset=0", "_page=2",
		} {
			name, _, _ := strings.Cut(param, "=")
			for _, c := range []struct {
				method, url, body string
				headers           map[string]string
			}{
				{"POST", "/fhir/Observation", noID(obsOf123), ine("identifier=x&" + param)},
				{"POST", "/fhir/Observation", noID(obsOf123), ine("Observation?" + param + "&_id=1")},
				{"PUT", "/fhir/Observation?identifier=x&" + param, obsOf123, nil},
				{"PATCH", "/fhir/Observation?" + param + "&identifier=x", `[{"op":"replace","path":"/status","value":"final"}]`, nil},
				{"DELETE", "/fhir/Observation?identifier=x&" + param, "", nil},
				{"POST", "/fhir", transaction(`{"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=x&` + param + `"},"resource":` + obsOf123 + `}`), nil},
				{"POST", "/fhir", transaction(`{"request":{"method":"PUT","url":"Observation?identifier=x&` + param + `"},"resource":` + obsOf123 + `}`), nil},
				{"POST", "/fhir", transaction(`{"request":{"method":"DELETE","url":"Observation?` + param + `&identifier=x"}}`), nil},
			} {
				_, d := authorize(t, p, pr, c.method, c.url, c.body, c.headers)
				what := c.method + " " + c.url + " " + c.headers["If-None-Exist"] + " " + c.body
				assert.False(t, d.Allowed, "%s: %s", scopes.scopes, what)
				assert.Equal(t, http.StatusBadRequest, d.Status, "%s: %s: %s", scopes.scopes, what, d.Reason)
				assert.Contains(t, d.Reason, name, "%s: %s", scopes.scopes, what)
				assert.Contains(t, string(d.OperationOutcome()), "OperationOutcome", "%s", what)
			}
		}
		// Search parameters, _id and the interaction's own _format and
		// _pretty: allowed, without a response check but for a
		// conditional create under patient context, whose answer may be
		// the resource its search found.
		for _, c := range []struct {
			method, url, body string
			headers           map[string]string
		}{
			{"POST", "/fhir/Observation", noID(obsOf123), ine("_id=1")},
			{"POST", "/fhir/Observation", noID(obsOf123), ine("identifier=http://x|1&code=8867-4&_lastUpdated=gt2020&_tag=a|b")},
			{"POST", "/fhir/Observation?_format=json", noID(obsOf123), ine("Observation?identifier=x")},
			{"PUT", "/fhir/Observation?_id=1&_format=json&_pretty=true", obsOf123, nil},
			{"PUT", "/fhir/Observation?identifier=x&code:text=hr", obsOf123, nil},
			{"DELETE", "/fhir/Observation?_id=1", "", nil},
			{"POST", "/fhir", transaction(`{"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=x"},"resource":` + noID(obsOf123) + `}`), nil},
			{"POST", "/fhir", transaction(`{"request":{"method":"PUT","url":"Observation?_id=1"},"resource":` + obsOf123 + `}`), nil},
		} {
			_, d := authorize(t, p, pr, c.method, c.url, c.body, c.headers)
			require.True(t, d.Allowed, "%s: %s %s %v: %d %s", scopes.scopes, c.method, c.url, c.headers, d.Status, d.Reason)
			create := c.method == "POST" && c.url != "/fhir"
			assert.Equal(t, create && scopes.patient != "", d.NeedsResponseCheck(), "%s %s", c.method, c.url)
		}
	}
}
