package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A patient-context writer must not learn which ids exist outside its
// compartment: deleting or patching another patient's resource (current
// or deleted, with or without If-Match) is answered exactly like a
// resource that never existed: same status, same body but for the id.
func TestCareConnectAttackWriteExistenceOracle(t *testing.T) {
	a := startAttack(t, attackClients[:len(attackClients)-2]+`,
 {"client_id":"uw","client_secret":"s3cret","scope":"user/*.cruds"}
]`)
	pw, uw := a.token(t, "pw", ""), a.token(t, "uw", "")
	const fj = "application/fhir+json"
	const jp = "application/json-patch+json"
	obs := func(patient string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"}}`
	}
	// Patient/2's deleted Observation, made by a user/ writer.
	created := a.do(t, http.MethodPost, "/Observation", uw, fj, obs("2"))
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	gone := created.doc["id"].(string)
	require.Equal(t, http.StatusNoContent, a.do(t, http.MethodDelete, "/Observation/"+gone, uw, "", "").status)

	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	type attempt struct{ method, contentType, body string }
	attempts := []attempt{{http.MethodDelete, "", ""}, {http.MethodPatch, jp, patch}}
	targets := map[string]string{"another patient's": "obs-lab-2", "another patient's deleted": gone, "never existing": "no-such-id"}
	for _, at := range attempts {
		for _, ifMatch := range []string{"", `W/"1"`, `W/"9"`} {
			answers := map[string]string{}
			for what, id := range targets {
				var hdr []string
				if ifMatch != "" {
					hdr = []string{"If-Match", ifMatch}
				}
				r := a.do(t, at.method, "/Observation/"+id, pw, at.contentType, at.body, hdr...)
				assert.Equal(t, http.StatusNotFound, r.status, "%s %s %s (If-Match %s): %s", at.method, what, id, ifMatch, r.body)
				answers[what] = strings.ReplaceAll(string(r.body), id, "ID")
			}
			assert.Equal(t, answers["never existing"], answers["another patient's"], "%s If-Match %s", at.method, ifMatch)
			assert.Equal(t, answers["never existing"], answers["another patient's deleted"], "%s If-Match %s", at.method, ifMatch)
		}
	}
	// Nothing was written.
	assert.Equal(t, 1, a.versions(t, "Observation/obs-lab-2"))
	h := a.do(t, http.MethodGet, "/Observation/"+gone+"/_history", uw, "", "")
	require.Equal(t, http.StatusOK, h.status)
	var hist struct{ Total int }
	require.NoError(t, json.Unmarshal(h.body, &hist))
	assert.Equal(t, 2, hist.Total, "created and deleted, nothing since")

	// The caller's own resources still behave: deleted once, then gone
	// for good (answered like a missing one).
	own := a.do(t, http.MethodPost, "/Observation", pw, fj, obs("1"))
	require.Equal(t, http.StatusCreated, own.status, "%s", own.body)
	id := own.doc["id"].(string)
	assert.Equal(t, http.StatusOK, a.do(t, http.MethodPatch, "/Observation/"+id, pw, jp, patch).status)
	assert.Equal(t, http.StatusNoContent, a.do(t, http.MethodDelete, "/Observation/"+id, pw, "", "").status)
	assert.Equal(t, http.StatusNotFound, a.do(t, http.MethodDelete, "/Observation/"+id, pw, "", "").status)
}
