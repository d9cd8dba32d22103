package fhirauth

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
)

// Decide skips the contexts a token has no scopes in (scope.Set.HasContext).
// The answers must be those of evaluating every context: the same grants,
// and the same denials with the same reasons.
func TestDecideSkipsContextsWithoutScopes(t *testing.T) {
	p := testPolicy(t)
	cases := []struct {
		scopes, patient, method, target string
		allowed                         bool
		ctx                             scope.Context
		reason                          string // substring of the denial
	}{
		{"patient/*.rs", "123", "GET", "/fhir/Observation?code=x", true, scope.Patient, ""},
		{"user/Observation.rs", "", "GET", "/fhir/Observation?code=x", true, scope.User, ""},
		{"system/*.rs", "", "GET", "/fhir/$export", true, scope.System, ""},
		{"user/Patient.rs patient/*.rs", "123", "GET", "/fhir/Observation?code=x", true, scope.Patient, ""},
		{"user/Patient.rs", "", "GET", "/fhir/$export", false, 0, "needs system/ scopes"},
		{"user/Patient.rs", "", "GET", "/fhir/Observation/1", false, 0, "needs user/Observation.r"},
		{"patient/*.rs", "", "GET", "/fhir/Observation/1", false, 0, "without a valid patient launch context"},
		// No resource scopes at all: every context is evaluated for the
		// most helpful reason, as before.
		{"openid launch/patient", "123", "GET", "/fhir/Observation/1", false, 0, "needs patient/Observation.r"},
		{"openid", "", "GET", "/fhir/Observation/1", false, 0, "needs user/Observation.r"},
		{"openid", "", "GET", "/fhir/$nonsense", false, 0, "not allowed by this server's policy"},
	}
	for _, tc := range cases {
		t.Run(tc.scopes+" "+tc.target, func(t *testing.T) {
			_, d := authorize(t, p, principal(t, tc.scopes, tc.patient), tc.method, tc.target, "", nil)
			require.Equal(t, tc.allowed, d.Allowed, d.Reason)
			if tc.allowed {
				assert.Equal(t, tc.ctx, d.Context)
				return
			}
			assert.Contains(t, d.Reason, tc.reason)
		})
	}
}

// A context without scopes never grants, even a Request built by hand
// that reaches no type at all; and a system search whose Reaches do not
// list its types is refused in every context.
func TestHandBuiltSystemSearchIsNotGranted(t *testing.T) {
	p := testPolicy(t)
	req := &Request{Method: http.MethodGet, Interaction: SearchSystem}
	for _, scopes := range []string{"patient/*.rs", "system/Group.r", "user/*.*", "openid"} {
		d := p.Decide(context.Background(), principal(t, scopes, "123"), req)
		assert.False(t, d.Allowed, "%s: %s", scopes, d.Reason)
	}
}
