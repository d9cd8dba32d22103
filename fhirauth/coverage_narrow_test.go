package fhirauth

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// A patient-access app (SMART client-js patient.request("Coverage"),
// CARIN Blue Button clients) asks for Coverage?patient=X: the Coverages
// whose beneficiary is X. Coverage.beneficiary is required and names a
// Patient; policyHolder is optional and often an Organization (an
// employer) or a parent. Narrowing by policy-holder would leave a
// beneficiary who holds no policy with no Coverage at all, though the
// Coverage is in their compartment; narrowing by beneficiary keeps it,
// and still only Coverages in the token patient's compartment.
func TestCoverageNarrowedByBeneficiary(t *testing.T) {
	for _, v := range []fhirspec.Version{fhirspec.R4, fhirspec.STU3} {
		p := testPolicy(t, WithVersion(v))
		for _, u := range []string{"/fhir/Coverage", "/fhir/Coverage?patient=123", "/fhir/Coverage?beneficiary=123", "/fhir/Coverage?status=active"} {
			if v == fhirspec.STU3 && u == "/fhir/Coverage?patient=123" {
				continue // STU3 Coverage has no patient parameter
			}
			t.Run(v.String()+" "+u, func(t *testing.T) {
				_, d := authorize(t, p, principal(t, patientAll, "123"), "GET", u, "", nil)
				require.True(t, d.Allowed, "%d: %s", d.Status, d.Reason)
				assert.Equal(t, url.Values{"beneficiary": {"Patient/123"}}, d.Narrow)
			})
		}
		t.Run(v.String()+" chain through the beneficiary is pinned", func(t *testing.T) {
			_, d := authorize(t, p, principal(t, patientAll, "123"), "GET", "/fhir/Coverage?beneficiary:Patient.name=x", "", nil)
			require.True(t, d.Allowed, "%d: %s", d.Status, d.Reason)
		})
		t.Run(v.String()+" chain through the policy holder is not", func(t *testing.T) {
			_, d := authorize(t, p, principal(t, patientAll, "123"), "GET", "/fhir/Coverage?policy-holder:Patient.name=x", "", nil)
			require.False(t, d.Allowed)
			assert.Equal(t, 403, d.Status)
		})
		t.Run(v.String()+" another beneficiary", func(t *testing.T) {
			_, d := authorize(t, p, principal(t, patientAll, "123"), "GET", "/fhir/Coverage?beneficiary=Patient/456", "", nil)
			require.False(t, d.Allowed)
			assert.Equal(t, 403, d.Status)
		})
	}
}
