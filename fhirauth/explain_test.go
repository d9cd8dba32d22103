package fhirauth

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden explanations in testdata/explain")

// demoClients are the five demo clients of examples/careconnect: their
// scopes and patient claims.
var demoClients = []struct{ id, scopes, patient string }{
	{"patient-access", "user/Patient.read", ""},
	{"careconnect-read", "user/Patient.read user/Observation.read user/Encounter.read user/Condition.read user/Procedure.read user/AllergyIntolerance.read user/MedicationRequest.read user/MedicationStatement.read user/Immunization.read", ""},
	{"careconnect-write", "user/*.read user/*.write", ""},
	{"patient-app", "patient/*.rs", "1"},
	{"backend-service", "system/*.rs", ""},
}

// careconnectPolicy is the policy examples/careconnect runs with.
func careconnectPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := NewPolicy(WithVersion(fhirspec.STU3), WithBasePath("/fhir"), WithSharedTypes("Practitioner", "Organization"))
	require.NoError(t, err)
	return p
}

// TestExplainGolden holds the explanations of the demo clients to the
// texts in testdata/explain (go test -run TestExplainGolden -update
// rewrites them).
func TestExplainGolden(t *testing.T) {
	pol := careconnectPolicy(t)
	for _, c := range demoClients {
		t.Run(c.id, func(t *testing.T) {
			pr := principal(t, c.scopes, c.patient)
			pr.ClientID = c.id
			got := pol.Explain(context.Background(), pr).String() + "\n"
			path := filepath.Join("testdata", "explain", c.id+".txt")
			if *updateGolden {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

// TestExplainText checks the sentences of a constrained patient token,
// the meaning of non-resource scopes and what is not honoured.
func TestExplainText(t *testing.T) {
	pol := testPolicy(t)
	pr := principal(t, "patient/Observation.rs?category=laboratory patient/Patient.r openid offline_access user/Unicorn.read patient/Condition.rs?clinical-status=active&category=problem-list-item", "123")
	require.NoError(t, pr.SetClaims([]byte(`{"scope":"`+pr.Scopes.String()+` Patient/Observation.read"}`)))
	e := pol.Explain(context.Background(), pr)
	s := e.String()
	for _, want := range []string{
		"May read and search Observation where category is laboratory, for Patient/123 only.",
		"May read and search Condition where category is problem-list-item and clinical-status is active, for Patient/123 only.",
		"May read Patient/123.",
		"Nothing else.",
		"openid: an OpenID Connect id_token may be issued",
		"offline_access: a refresh token",
		"Not honoured: user/Unicorn.read (Unicorn is not a FHIR R4 resource type).",
		`Not honoured: Patient/Observation.read (not a valid scope`,
	} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "create")
	assert.Equal(t, s, pol.Explain(context.Background(), pr).String(), "deterministic")
}

// TestExplainJSON checks the JSON shape a program reads.
func TestExplainJSON(t *testing.T) {
	pol := careconnectPolicy(t)
	pr := principal(t, "patient/Observation.rs patient/Patient.r launch/patient", "7")
	b, err := json.Marshal(pol.Explain(context.Background(), pr))
	require.NoError(t, err)
	var got struct {
		Patient string `json:"patient"`
		Grants  []struct {
			Interactions []string `json:"interactions"`
			Types        []string `json:"types"`
			Context      string   `json:"context"`
			Patient      string   `json:"patient"`
		} `json:"grants"`
		Scopes []struct{ Scope, Meaning string } `json:"scopes"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, "7", got.Patient)
	require.NotEmpty(t, got.Grants)
	assert.Equal(t, []string{"read", "search"}, got.Grants[0].Interactions)
	assert.Equal(t, []string{"Observation"}, got.Grants[0].Types)
	assert.Equal(t, "patient", got.Grants[0].Context)
	assert.Equal(t, "7", got.Grants[0].Patient)
	require.Len(t, got.Scopes, 1)
	assert.Equal(t, "launch/patient", got.Scopes[0].Scope)
}

// TestExplainNothing covers a nil principal, an empty token and patient/
// scopes without a patient: nothing is allowed, and the last says why.
func TestExplainNothing(t *testing.T) {
	pol := testPolicy(t)
	ctx := context.Background()
	assert.Equal(t, "May do nothing on this server's FHIR API.", pol.Explain(ctx, nil).String())
	assert.Equal(t, "May do nothing on this server's FHIR API.", pol.Explain(ctx, &token.Principal{}).String())
	e := pol.Explain(ctx, principal(t, "patient/*.rs", ""))
	assert.Empty(t, e.Grants)
	require.Len(t, e.NotHonoured, 1)
	assert.Contains(t, e.NotHonoured[0].Reason, "need a patient")
}

// TestExplainRequest checks the one-request explanation against the
// decision it explains.
func TestExplainRequest(t *testing.T) {
	pol := testPolicy(t)
	ctx := context.Background()
	pr := principal(t, "patient/Observation.rs openid", "1")
	x := pol.ExplainRequest(ctx, pr, newRequest("GET", "/fhir/Observation?code=1234-5", "", nil))
	assert.True(t, x.Allowed)
	assert.Equal(t, "search-type", x.Interaction)
	assert.Equal(t, "patient", x.Context)
	assert.Equal(t, []string{"patient/Observation.rs"}, x.GrantedBy)
	assert.Equal(t, []string{"Patient/1"}, x.Narrow["patient"])
	assert.Equal(t, "GET Observation?code=1234-5: allowed by patient/Observation.rs, for Patient/1 only. The server adds patient=Patient/1 to the search.", x.String())

	x = pol.ExplainRequest(ctx, pr, newRequest("GET", "/fhir/Observation?patient=2", "", nil))
	assert.False(t, x.Allowed)
	assert.Equal(t, 403, x.Status)
	assert.Contains(t, x.String(), "GET Observation?patient=2: denied (403): ")
	assert.Contains(t, x.Reason, "Patient/1")

	x = pol.ExplainRequest(ctx, pr, newRequest("DELETE", "/fhir/Condition/9", "", nil))
	assert.False(t, x.Allowed)
	assert.NotEmpty(t, x.Needed)
	assert.Contains(t, x.String(), "Would have been enough: "+x.Needed+".")

	x = pol.ExplainRequest(ctx, pr, newRequest("GET", "/fhir/Observation/5", "", nil))
	assert.True(t, x.Allowed)
	require.Len(t, x.Checks, 1)
	assert.Contains(t, x.Checks[0], "checked against the token's scopes")

	x = pol.ExplainRequest(ctx, pr, newRequest("GET", "/fhir/Observation/%2e%2e/Patient/2", "", nil))
	assert.False(t, x.Allowed)
	assert.Equal(t, 400, x.Status)
}

// TestExplainRequestBatch explains each entry of a batch.
func TestExplainRequestBatch(t *testing.T) {
	pol := testPolicy(t)
	pr := principal(t, "user/Patient.rs", "")
	body := `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"request":{"method":"GET","url":"Patient/1"}},` +
		`{"request":{"method":"DELETE","url":"Patient/1"}}]}`
	x := pol.ExplainRequest(context.Background(), pr, newRequest("POST", "/fhir", body, nil))
	require.Len(t, x.Entries, 2)
	assert.True(t, x.Entries[0].Allowed)
	assert.False(t, x.Entries[1].Allowed)
	assert.True(t, strings.Contains(x.String(), "\n  entry 1: DELETE Patient/1: denied"), x.String())
}

// TestExplainRequestAgrees: over random tokens and requests, the request
// explanation reports exactly Authorize's decision.
func TestExplainRequestAgrees(t *testing.T) {
	pol := testPolicy(t)
	rng := newRand()
	ctx := context.Background()
	for range 2000 {
		pr := randomPrincipal(rng)
		c := randomCase(rng, pol, pr)
		_, d := pol.Authorize(ctx, pr, newRequest(c.method, "/fhir/"+c.target, c.body, nil))
		x := pol.ExplainRequest(ctx, pr, newRequest(c.method, "/fhir/"+c.target, c.body, nil))
		require.Equal(t, d.Allowed, x.Allowed, "%s %s", c.method, c.target)
		require.Equal(t, d.Status, x.Status)
		require.Equal(t, d.Reason, x.Reason)
		require.Equal(t, d.Needed, x.Needed)
		if d.Allowed && d.Context != scope.NoContext {
			require.NotEmpty(t, x.GrantedBy, "%s %s by %v", c.method, c.target, pr.Scopes)
		}
	}
}

// BenchmarkExplain measures Explain for a typed token and for a wildcard
// one (every type probed); it runs off the request path (fhirctl, the
// scopes page, the -clients check at start).
func BenchmarkExplain(b *testing.B) {
	pol := careconnectPolicy(b)
	for _, c := range []struct{ name, scopes, patient string }{
		{"typed", "user/Patient.read", ""},
		{"wildcard", "patient/*.rs", "1"},
	} {
		pr := principal(b, c.scopes, c.patient)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = pol.Explain(context.Background(), pr)
			}
		})
	}
}

// TestExplainConstrainedPatientUpdate: an update of the token's own
// Patient under a v2 constraint is offered where the body satisfies the
// constraint, as Authorize allows it.
func TestExplainConstrainedPatientUpdate(t *testing.T) {
	pol := testPolicy(t)
	pr := principal(t, "patient/Patient.u?gender=female", "1")
	e := pol.Explain(context.Background(), pr)
	g, ok := findGrant(e, ExplainUpdate, "Patient")
	require.True(t, ok, e.String())
	assert.Equal(t, "1", g.Patient)
	assert.Equal(t, [][]string{{"gender=female"}}, g.Where)
	assert.Contains(t, e.String(), "May update Patient/1 where gender is female.")
	_, d := authorize(t, pol, pr, "PUT", "/fhir/Patient/1", `{"resourceType":"Patient","id":"1","gender":"female"}`, nil)
	assert.True(t, d.Allowed, d.Reason)
	_, d = authorize(t, pol, pr, "PUT", "/fhir/Patient/1", `{"resourceType":"Patient","id":"1","gender":"male"}`, nil)
	assert.False(t, d.Allowed)
}
