package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// searchsetOf is a searchset Bundle of the given resources.
func searchsetOf(resources ...string) []byte {
	b := `{"resourceType":"Bundle","type":"searchset","entry":[`
	for i, r := range resources {
		if i > 0 {
			b += ","
		}
		b += `{"resource":` + r + `}`
	}
	return []byte(b + `]}`)
}

// A registered search operation ($lastn) behaves as a search of its type,
// so a constrained scope holds its results to the constraint in the
// response, as it does a search's: an operation may not filter by a
// narrowing parameter (or read a repeated one as OR), and a POSTed
// Parameters body may name the constraint's value beside another one
// (category=laboratory in the query, category=vital-signs in the body,
// which a server reads instead of the query).
func TestAttackConstrainedSearchOperation(t *testing.T) {
	p := testPolicy(t)
	body := `{"resourceType":"Parameters","parameter":[{"name":"category","valueString":"vital-signs"}]}`
	for _, c := range []struct {
		name, scopes, patient, method, target, body string
	}{
		{"user, GET another category", "user/Observation.rs?category=laboratory", "", "GET", "/fhir/Observation/$lastn?category=vital-signs", ""},
		{"user, GET no category", "user/Observation.rs?category=laboratory", "", "GET", "/fhir/Observation/$lastn", ""},
		{"user, POST body beside the query", "user/Observation.rs?category=laboratory", "", "POST", "/fhir/Observation/$lastn?category=laboratory", body},
		{"user, alternatives", "user/Observation.rs?category=laboratory user/Observation.rs?category=imaging", "", "GET", "/fhir/Observation/$lastn", ""},
		{"patient, GET", "patient/Observation.rs?category=laboratory", "123", "GET", "/fhir/Observation/$lastn?patient=Patient/123&category=vital-signs", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, c.scopes, c.patient), c.method, c.target, c.body, nil)
			if !d.Allowed {
				return // refused: nothing leaks
			}
			require.True(t, d.NeedsResponseCheck(), "allowed without a response check, narrowed by %v", d.Narrow)
			out, removed, err := d.CheckResponse(http.StatusOK, searchsetOf(obsOf123, vitalOf123))
			require.NoError(t, err)
			assert.Equal(t, 1, removed)
			assert.NotContains(t, string(out), "vital-signs")
		})
	}
}

// A registered search operation with a parameter its type does not define
// as a search parameter gets the entry-by-entry check a search with one
// gets: the parameter may be a server's opaque paging token replaying
// another patient's search. An operation's own parameters ($lastn's max)
// are not known to the policy and are checked the same way.
func TestAttackSearchOperationUnknownParameter(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "launch/patient patient/*.rs", "123")
	for _, q := range []string{"ct=opaque", "max=3"} {
		_, d := authorize(t, p, pr, "GET", "/fhir/Observation/$lastn?patient=Patient/123&"+q, "", nil)
		require.True(t, d.Allowed, d.Reason)
		require.True(t, d.NeedsResponseCheck(), q)
		_, removed, err := d.CheckResponse(http.StatusOK, searchsetOf(obsOf123, obsOf456))
		require.NoError(t, err)
		assert.Equal(t, 1, removed, q)
	}
	_, d := authorize(t, p, pr, "GET", "/fhir/Observation/$lastn?patient=Patient/123&code=x", "", nil)
	require.True(t, d.Allowed, d.Reason)
	assert.False(t, d.NeedsResponseCheck(), "search parameters only: narrowed, not checked")
}

// A POSTed search operation's Parameters body may hold parameters whose
// values are not strings (valuePositiveInt, valueDecimal,
// valueReference, parts), which Params cannot hold and so the
// unknown-parameter rule could not see: a server may read such a value
// as a paging token, so the results are checked, as for an unknown
// parameter. String values of search parameters only stay unchecked.
func TestAttackSearchOperationUnreadBodyParameter(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/Observation.rs user/Patient.rs", "")
	for name, param := range map[string]string{
		"integer max":     `{"name":"max","valuePositiveInt":3}`,
		"decimal token":   `{"name":"ct","valueDecimal":12345678901234567890}`,
		"reference":       `{"name":"subject","valueReference":{"reference":"Patient/9"}}`,
		"parts":           `{"name":"code","part":[{"name":"ct","valueString":"x"}]}`,
		"no value at all": `{"name":"code"}`,
	} {
		body := `{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"8867-4"},` + param + `]}`
		_, d := authorize(t, p, pr, "POST", "/fhir/Observation/$lastn", body, map[string]string{"Content-Type": "application/fhir+json"})
		require.True(t, d.Allowed, "%s: %s", name, d.Reason)
		assert.True(t, d.NeedsResponseCheck(), name)
	}
	body := `{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"8867-4"},{"name":"category","valueString":"vital-signs"}]}`
	_, d := authorize(t, p, pr, "POST", "/fhir/Observation/$lastn", body, map[string]string{"Content-Type": "application/fhir+json"})
	require.True(t, d.Allowed, d.Reason)
	assert.False(t, d.NeedsResponseCheck(), "string values of search parameters: unchecked")
}
