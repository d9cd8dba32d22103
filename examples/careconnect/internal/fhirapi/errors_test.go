package fhirapi_test

import (
	"net/http"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
)

// TestErrorsInFHIRWords: store errors reach users as OperationOutcomes in
// FHIR words, never with the store's own prefixes.
func TestErrorsInFHIRWords(t *testing.T) {
	a := newAPI(t, fhirversion.R4)
	cases := []struct{ path, want string }{
		{"/fhir/Observation?code:foo=x", "search parameter code: the modifier :foo is not supported"},
		{"/fhir/Observation?_count:exact=1", "search parameter _count: the modifier :exact is not supported"},
		{"/fhir/Observation?_include:iterate=Observation:subject", "search parameter _include: the modifier :iterate is not supported"},
		{"/fhir/Observation?status:above=final", "search parameter status: the modifier :above is not supported"},
		{"/fhir/Observation?nope=1", `search parameter "nope" is not supported for Observation`},
	}
	for _, c := range cases {
		res := a.get(c.path)
		assert.Equal(t, http.StatusBadRequest, res.status, c.path)
		assert.Equal(t, c.want, diag(res), c.path)
		assert.NotContains(t, string(res.body), "store:", c.path)
	}
	res := a.do(http.MethodPut, "/fhir/Patient/a", "application/fhir+json", `{"resourceType":"Patient","id":"b"}`)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.NotContains(t, string(res.body), "store:")
	assert.Contains(t, diag(res), `resource id "b" does not match the URL id "a"`)
}
