package medplum

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCoverageOfABeneficiary runs a patient-access app's Coverage search
// (SMART client-js patient.request("Coverage") sends Coverage?patient=X;
// a CARIN Blue Button client the same) through the gateway in front of
// medplum with a patient-context token. X's own Coverages are those whose
// beneficiary is X, whoever holds the policy (an employer, a parent): the
// answer must hold them all, and nothing outside X's compartment. A
// Coverage X only holds for someone else is in X's compartment too (by
// policy-holder) but is not what these searches find: narrowing by one
// parameter finds a subset of the compartment; X reads it by id.
func TestCoverageOfABeneficiary(t *testing.T) {
	requirePeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := startEnv(t)
	coverage := func(id, beneficiary, holder string) map[string]any {
		return map[string]any{"resourceType": "Coverage", "id": id, "status": "active",
			"beneficiary":  map[string]any{"reference": beneficiary},
			"policyHolder": map[string]any{"reference": holder},
			"payor":        []any{map[string]any{"reference": "Organization/payer"}}}
	}
	store(ctx, t, e.upstream, []map[string]any{
		{"resourceType": "Organization", "id": "payer", "name": "Payer"},
		{"resourceType": "Organization", "id": "employer", "name": "Employer"},
		{"resourceType": "Patient", "id": "p1"}, {"resourceType": "Patient", "id": "p2"},
		coverage("cov-p1-employer", "Patient/p1", "Organization/employer"),
		coverage("cov-p1-parent", "Patient/p1", "Patient/p2"),
		coverage("cov-p1-self", "Patient/p1", "Patient/p1"),
		coverage("cov-p2-held-by-p1", "Patient/p2", "Patient/p1"),
		coverage("cov-p2-employer", "Patient/p2", "Organization/employer"),
	})
	token := e.token("patient/*.rs", "p1")
	want := []string{"Coverage/cov-p1-employer", "Coverage/cov-p1-parent", "Coverage/cov-p1-self"}
	for _, target := range []string{"Coverage?patient=Patient/p1", "Coverage?beneficiary=Patient/p1", "Coverage", "Coverage?status=active"} {
		t.Run(target, func(t *testing.T) {
			status, direct := send(ctx, t, http.MethodGet, e.upstream, "Coverage?beneficiary=Patient/p1", "", "")
			require.Equal(t, http.StatusOK, status, "%s", direct)
			require.Equal(t, want, unversioned(keys(t, direct)), "medplum finds p1's Coverages by beneficiary")
			status, body := send(ctx, t, http.MethodGet, e.gateway, target, token, "")
			require.Equal(t, http.StatusOK, status, "%s", body)
			assert.Equal(t, want, unversioned(keys(t, body)))
		})
	}
	for id, want := range map[string]int{"cov-p2-held-by-p1": http.StatusOK, "cov-p2-employer": http.StatusNotFound} {
		status, body := send(ctx, t, http.MethodGet, e.gateway, "Coverage/"+id, token, "")
		assert.Equal(t, want, status, "read %s: %s", id, body)
	}
}

// unversioned drops the "@version" that keys appends.
func unversioned(ks []string) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i], _, _ = strings.Cut(k, "@")
	}
	return out
}
