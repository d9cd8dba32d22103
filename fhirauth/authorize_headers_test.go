package fhirauth

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingBody counts the reads of a request body.
type countingBody struct {
	io.Reader
	reads int
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.reads++
	return b.Reader.Read(p)
}

func (b *countingBody) Close() error { return nil }

// A create, update or patch that the token's scopes permit in no context
// is decided from the request line and headers, without a read of its
// body; every other write is read and decided whole. Either way the
// decision is the one Decide takes on the request classified with its
// body (status, issue code, reason and the scopes that would do), but
// for a body that would not classify: the refusal is then for the
// missing scope rather than the body.
func TestAuthorizeRefusesWithoutTheBodyWhenNoScopeCouldGrant(t *testing.T) {
	p := testPolicy(t)
	obs := obsOf123
	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	writes := []struct{ method, target, body string }{
		{"POST", "/fhir/Observation", obs},
		{"PUT", "/fhir/Observation/1", obs},
		{"PATCH", "/fhir/Observation/1", patch},
		{"PUT", "/fhir/Observation?code=x", obs},
		{"PATCH", "/fhir/Observation?code=x", patch},
		{"POST", "/fhir/Patient", `{"resourceType":"Patient"}`},
		{"PUT", "/fhir/Patient/123", `{"resourceType":"Patient","id":"123"}`},
		{"POST", "/fhir/Subscription", `{"resourceType":"Subscription","status":"requested","reason":"x","criteria":"Observation?code=x","channel":{"type":"rest-hook"}}`},
		{"PUT", "/fhir/Practitioner/p", `{"resourceType":"Practitioner","id":"p"}`},
		{"POST", "/fhir/Observation", `not json`},
	}
	scopes := []struct{ scopes, patient string }{
		{"patient/Observation.rs", "123"},
		{"patient/Observation.c", "123"},
		{"patient/Observation.u", "123"},
		{"patient/Observation.ru", "123"},
		{"patient/Observation.cruds", "123"},
		{"patient/Observation.crud", "123"},
		{"patient/Patient.cruds", "123"},
		{"patient/*.cruds", ""},
		{"user/Observation.rs system/Patient.rs", ""},
		{"user/Observation.cu?category=laboratory", ""},
		{"system/Subscription.c", ""},
		{"system/*.u", ""},
		{"openid fhirUser", ""},
		{"patient/Observation.write user/Observation.read", "123"},
	}
	early := 0
	for _, s := range scopes {
		pr := principal(t, s.scopes, s.patient)
		for _, w := range writes {
			r := newRequest(w.method, w.target, w.body, nil)
			body := &countingBody{Reader: strings.NewReader(w.body)}
			r.Body = body
			_, got := p.Authorize(context.Background(), pr, r)

			req, err := p.Classify(newRequest(w.method, w.target, w.body, nil))
			var want *Decision
			if err != nil {
				want = p.classifyError(err)
			} else {
				want = p.Decide(context.Background(), pr, req)
			}
			what := s.scopes + " " + w.method + " " + w.target
			require.NotNil(t, got, what)
			if body.reads == 0 {
				early++
				require.False(t, got.Allowed, "%s: allowed without reading the body", what)
				if err != nil {
					// The body would not classify (400): refused all
					// the same, for the missing scope.
					assert.Equal(t, 403, got.Status, what)
					continue
				}
			}
			assert.Equal(t, want.Allowed, got.Allowed, what)
			assert.Equal(t, want.Status, got.Status, what)
			assert.Equal(t, want.IssueCode, got.IssueCode, what)
			assert.Equal(t, want.Reason, got.Reason, what)
			assert.Equal(t, want.Needed, got.Needed, what)
		}
	}
	assert.Positive(t, early, "some writes are refused from the headers")
}
