package fhirapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
)

// A 405 names the methods its path takes in Allow (RFC 9110 section
// 15.5.6 requires it), and the list is true: none of those methods is
// answered 405 on that path.
func TestMethodNotAllowedSaysAllow(t *testing.T) {
	a := newAPI(t, fhirversion.STU3)
	cases := []struct{ method, path string }{
		{http.MethodGet, "/fhir"},
		{http.MethodPost, "/fhir/metadata"},
		{http.MethodPatch, "/fhir/Patient"},
		{http.MethodGet, "/fhir/Patient/_search"},
		{http.MethodPost, "/fhir/Patient/1"},
		{http.MethodDelete, "/fhir/Patient/1/_history"},
		{http.MethodPut, "/fhir/Patient/1/_history/1"},
	}
	for _, c := range cases {
		res := a.do(c.method, c.path, fhirJSON, "{}")
		assert.Equal(t, http.StatusMethodNotAllowed, res.status, "%s %s", c.method, c.path)
		allow := res.header.Get("Allow")
		if !assert.NotEmpty(t, allow, "%s %s: a 405 names what is allowed", c.method, c.path) {
			continue
		}
		for m := range strings.SplitSeq(allow, ", ") {
			assert.NotEqual(t, c.method, m, "%s %s", c.method, c.path)
			got := a.do(m, c.path, fhirJSON, `{"resourceType":"Patient","id":"1"}`)
			assert.NotEqual(t, http.StatusMethodNotAllowed, got.status, "%s %s is in the Allow of %s", m, c.path, c.method)
		}
	}
}
