package fhirauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// testPolicy is the policy of the decision table: R4, base /fhir, shared
// Practitioner, Medication and Location, $lastn registered as a search.
func testPolicy(t testing.TB, opts ...Option) *Policy {
	t.Helper()
	base := []Option{
		WithSharedTypes("Practitioner", "Medication", "Location"),
		WithOperation(OperationRule{Name: "lastn", Levels: TypeLevel, Types: []string{"Observation"}, Permission: scope.Search, Search: true}),
		WithOperation(OperationRule{Name: "summary", Levels: InstanceLevel, Permission: scope.Read}),
	}
	p, err := NewPolicy(append(base, opts...)...)
	require.NoError(t, err)
	return p
}

// principal builds a Principal from a scope claim and a patient claim.
func principal(t testing.TB, scopes, patient string) *token.Principal {
	t.Helper()
	set, err := scope.ParseSet(scopes)
	require.NoError(t, err, "scopes %q", scopes)
	return &token.Principal{Subject: "u1", ClientID: "app", Scopes: set, Patient: patient}
}

// newRequest builds an HTTP request; a body starting with '{' or '[' gets a
// FHIR JSON content type unless headers say otherwise.
func newRequest(method, target, body string, headers map[string]string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://fhir.test"+target, rd)
	if body != "" {
		if strings.HasPrefix(body, "[") {
			r.Header.Set("Content-Type", "application/json-patch+json")
		} else if strings.HasPrefix(body, "{") {
			r.Header.Set("Content-Type", "application/fhir+json")
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func authorize(t testing.TB, p *Policy, pr *token.Principal, method, target, body string, headers map[string]string) (*Request, *Decision) {
	t.Helper()
	return p.Authorize(context.Background(), pr, newRequest(method, target, body, headers))
}

// Resources used by the tests.
const (
	obsOf123   = `{"resourceType":"Observation","id":"1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
	obsOf456   = `{"resourceType":"Observation","id":"1","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/456"}}`
	vitalOf123 = `{"resourceType":"Observation","id":"2","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/123"}}`
	obsBoth    = `{"resourceType":"Observation","id":"1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"},"performer":[{"reference":"Patient/456"}]}`
	patient123 = `{"resourceType":"Patient","id":"123","name":[{"family":"Smith"}]}`
	patient456 = `{"resourceType":"Patient","id":"456","name":[{"family":"Jones"}]}`
	practBody  = `{"resourceType":"Practitioner","id":"9"}`
	orgBody    = `{"resourceType":"Organization","id":"7"}`
)

type tokenPrincipal = token.Principal

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// noID is a resource body without its id, as a create sends it (a create
// with an id is refused unless the token may update that id).
func noID(body string) string {
	return regexp.MustCompile(`"id":"[^"]*",?`).ReplaceAllString(body, "")
}
