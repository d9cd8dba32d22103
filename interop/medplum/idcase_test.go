package medplum

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// caseVariant is a patient whose id differs from the context patient's
// in letter case only. FHIR ids are case-sensitive, so P1 is another
// patient; medplum matches tokens, _id included, without regard to
// case.
const caseVariant = "P1"

// caseVariantResources are caseVariant's Patient and one Observation.
func caseVariantResources() []map[string]any {
	return []map[string]any{
		{"resourceType": "Patient", "id": caseVariant, "name": []any{map[string]any{"family": "Variant"}},
			"text": map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">` + marker(caseVariant) + `</div>`}},
		{"resourceType": "Observation", "id": "obs-" + caseVariant, "status": "final", "code": map[string]any{"text": "heart rate"},
			"subject": map[string]any{"reference": "Patient/" + caseVariant},
			"text":    map[string]any{"status": "generated", "div": `<div xmlns="http://www.w3.org/1999/xhtml">` + marker(caseVariant) + `</div>`}},
	}
}

// caseVariantIDs stores caseVariant's resources in medplum, checks that
// medplum's own answer to the patient's narrowed search (Patient?_id=p1)
// holds them, then searches Patients, and Observations (narrowed by a
// reference, which medplum compares exactly), with the patient-context
// token through the gateway: neither may appear. It returns the requests
// made.
func caseVariantIDs(ctx context.Context, t *testing.T, e *env, patientToken string) int {
	for _, r := range caseVariantResources() {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		status, body := send(ctx, t, http.MethodPut, e.upstream, key(r), "", string(b))
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
	}
	_, up := send(ctx, t, http.MethodGet, e.upstream, "Patient?_id="+contextPatient+"&_revinclude=Observation:subject", "", "")
	require.Contains(t, stripVersions(keys(t, up)), "Patient/"+caseVariant, "medplum answers Patient?_id=%s with Patient/%s", contextPatient, caseVariant)
	targets := []string{"Patient", "Patient?_id=" + contextPatient, "Patient?_revinclude=Observation:subject",
		"Patient?family=Variant", "Patient/" + contextPatient + "/Patient", "Observation", "Observation?code=heart%20rate", "Patient/" + contextPatient + "/Observation", "Observation?subject=Patient/" + contextPatient, "Observation?_include=Observation:subject"}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			status, body := send(ctx, t, http.MethodGet, e.gateway, target, patientToken, "")
			assert.NotContains(t, string(body), marker(caseVariant), "LEAK: %s returned Patient/%s's data (status %d): %s", target, caseVariant, status, body)
			assert.Empty(t, foreign(t, body), "LEAK: %s (status %d): %s", target, status, body)
		})
	}
	return len(targets) + 1
}
