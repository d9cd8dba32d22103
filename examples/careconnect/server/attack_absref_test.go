package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An Observation whose subject is another server's Patient/1 (an
// absolute reference) is not Patient/1's: the store's native patient
// narrowing must not match it, in a search, a compartment search or
// $everything, in STU3 and R4.
func TestCareConnectAttackAbsoluteReferenceIsNotThePatient(t *testing.T) {
	for _, version := range []string{"STU3", "R4"} {
		t.Run(version, func(t *testing.T) {
			a := startHunt(t, huntClients, version)
			admin := a.token(t, "hunt-admin", "")
			doc := a.do(t, http.MethodGet, "/Observation/obs-lab-1", admin, "", "").doc
			require.NotNil(t, doc)
			delete(doc, "meta")
			doc["id"] = "elsewhere"
			doc["subject"] = map[string]any{"reference": "http://elsewhere.example/fhir/Patient/1"}
			b, err := json.Marshal(doc)
			require.NoError(t, err)
			r := a.do(t, http.MethodPut, "/Observation/elsewhere", admin, "application/fhir+json", string(b))
			require.Equal(t, http.StatusCreated, r.status, "%s", r.body)

			for _, client := range []string{"hunt-pv2", "hunt-pv1"} {
				tok := a.token(t, client, "")
				for _, path := range []string{"/Observation", "/Observation?_count=100", "/Observation?patient=1",
					"/Observation?subject=Patient/1", "/Patient/1/Observation", "/Patient/1/$everything", "/Observation/elsewhere"} {
					r := a.do(t, http.MethodGet, path, tok, "", "")
					assert.NotContains(t, string(r.body), "elsewhere", "%s GET %s: %d %.300s", client, path, r.status, r.body)
				}
			}
			r = a.do(t, http.MethodGet, "/Observation?patient=http://elsewhere.example/fhir/Patient/1", admin, "", "")
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Contains(t, string(r.body), `"id":"elsewhere"`, "the same absolute URL still finds it")
		})
	}
}
