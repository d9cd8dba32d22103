package fhirauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A search of Patient under patient context is narrowed by _id, which
// holds only on a server that matches ids exactly. medplum matches
// tokens, _id too, without regard to letter case, in its in-memory
// repository and in the matching of its Subscriptions: Patient?_id=abc
// also returns Patient/ABC, another patient, and _revinclude brings
// that patient's records. So every such search is checked entry by
// entry, and a Subscription on it, which the server would not check, is
// refused.
func TestPatientSearchIsCheckedForCaseVariantIDs(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "patient/*.rs", "abc")
	abc := `{"resourceType":"Patient","id":"abc"}`
	other := `{"resourceType":"Patient","id":"ABC"}`
	otherObs := `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/ABC"}}`
	for _, target := range []string{"/fhir/Patient", "/fhir/Patient?_id=abc", "/fhir/Patient?name=x",
		"/fhir/Patient?_revinclude=Observation:subject", "/fhir/Patient/abc/Patient"} {
		_, d := authorize(t, p, pr, "GET", target, "", nil)
		require.True(t, d.Allowed, "%s: %s", target, d.Reason)
		assert.Equal(t, []string{"abc"}, d.Narrow["_id"], target)
		require.True(t, d.NeedsResponseCheck(), "%s: the server's _id matching is not trusted", target)
		page := `{"resourceType":"Bundle","type":"searchset","total":2,"entry":[{"resource":` + abc + `},{"resource":` + other + `},{"resource":` + otherObs + `}]}`
		out, removed, err := d.CheckResponse(http.StatusOK, []byte(page))
		require.NoError(t, err)
		assert.Equal(t, 2, removed, target)
		assert.NotContains(t, string(out), "ABC", target)
		assert.Contains(t, string(out), `"abc"`, target)
	}

	_, d := authorize(t, p, principal(t, "user/Subscription.cu patient/Patient.rs", "abc"), "POST", "/fhir/Subscription",
		subscriptionWith("Patient?_id=abc"), nil)
	require.False(t, d.Allowed)
	assert.Contains(t, d.Reason, "checked one by one")
}
