package fhirauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// Servers drop the parameters past a limit of their own (1000 in Node and
// Express): a query long enough to push a narrowing parameter past it is
// refused, in the query, a POST _search form and If-None-Exist alike.
func TestClassifyParameterLimit(t *testing.T) {
	p, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	if err != nil {
		t.Fatal(err)
	}
	query := func(n int) string { return strings.TrimSuffix(strings.Repeat("code=x&", n), "&") }
	for _, c := range []struct {
		name string
		r    func() *http.Request
		ok   bool
	}{
		{"100 in the query", func() *http.Request { return httptest.NewRequest("GET", "/fhir/Observation?"+query(100), nil) }, true},
		{"101 in the query", func() *http.Request { return httptest.NewRequest("GET", "/fhir/Observation?"+query(101), nil) }, false},
		{"empty items count", func() *http.Request {
			return httptest.NewRequest("GET", "/fhir/Observation?code=x"+strings.Repeat("&", 100), nil)
		}, false},
		{"101 in a form", func() *http.Request {
			r := httptest.NewRequest("POST", "/fhir/Observation/_search", strings.NewReader(query(101)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, false},
		{"101 in If-None-Exist", func() *http.Request {
			r := httptest.NewRequest("POST", "/fhir/Observation", strings.NewReader(`{"resourceType":"Observation"}`))
			r.Header.Set("Content-Type", "application/fhir+json")
			r.Header.Set("If-None-Exist", query(101))
			return r
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Classify(c.r())
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok && !errors.Is(err, fhirauth.ErrInvalidRequest) {
				t.Fatalf("got %v, want ErrInvalidRequest", err)
			}
		})
	}
}
