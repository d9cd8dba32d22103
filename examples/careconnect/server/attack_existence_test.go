package server_test

import (
	"encoding/json"
	"fmt"
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

// Update-as-create on the id of another patient's deleted resource is
// answered exactly like one on an id never used (status, ETag, Location,
// the If-Match refusal), directly and as a batch or transaction entry:
// the resource starts again at version 1 rather than continuing a history
// that would tell how many versions the other patient's resource had.
func TestCareConnectAttackPutExistenceOracle(t *testing.T) {
	a := startAttack(t, `[
 {"client_id":"pw","client_secret":"s3cret","scope":"patient/*.cruds","patient":"1"},
 {"client_id":"uw","client_secret":"s3cret","scope":"user/*.cruds"}
]`)
	pw, uw := a.token(t, "pw", ""), a.token(t, "uw", "")
	// deleted returns the id of a Patient/2 Observation that was created,
	// updated once and deleted (version 3) by a user/ writer.
	deleted := func() string {
		c := a.do(t, http.MethodPost, "/Observation", uw, fhirJSON, obsFor("", "2"))
		require.Equal(t, http.StatusCreated, c.status, "%s", c.body)
		id := c.doc["id"].(string)
		require.Equal(t, http.StatusOK, a.do(t, http.MethodPut, "/Observation/"+id, uw, fhirJSON, obsFor(id, "2")).status)
		require.Equal(t, http.StatusNoContent, a.do(t, http.MethodDelete, "/Observation/"+id, uw, "", "").status)
		return id
	}
	n := 0
	for _, mode := range []string{"", "batch", "transaction"} {
		for _, ifMatch := range []string{"", `W/"3"`, `W/"99"`} {
			n++
			never, gone := fmt.Sprintf("never-used-%d", n), deleted()
			answers := map[string]string{}
			for what, id := range map[string]string{"never used": never, "another patient's deleted": gone} {
				answers[what] = strings.ReplaceAll(a.putAnswer(t, pw, mode, id, ifMatch), id, "ID")
			}
			assert.Equal(t, answers["never used"], answers["another patient's deleted"], "%q If-Match %s", mode, ifMatch)
			if ifMatch == "" {
				assert.Contains(t, answers["never used"], `201 W/"1"`, "%q", mode)
				assert.Equal(t, 1, a.versionsAs(t, pw, "Observation/"+gone), "%q: the new resource's history", mode)
				assert.Equal(t, 1, a.versionsAs(t, uw, "Observation/"+gone), "%q: the deleted versions are dropped", mode)
			} else {
				assert.Contains(t, answers["never used"], "current version none", "%q", mode)
				assert.Equal(t, 3, a.versionsAs(t, uw, "Observation/"+gone), "%q If-Match %s: nothing written", mode, ifMatch)
			}
		}
	}

	// A caller who may know the deleted versions continues the history.
	gone := deleted()
	r := a.do(t, http.MethodPut, "/Observation/"+gone, uw, fhirJSON, obsFor(gone, "2"), "If-Match", `W/"3"`)
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, `W/"4"`, r.header.Get("ETag"))
}

// fhirJSON is the FHIR JSON media type.
const fhirJSON = "application/fhir+json"

// obsFor is an Observation of Patient/<patient>, with id unless it is "".
func obsFor(id, patient string) string {
	idPart := ""
	if id != "" {
		idPart = `"id":"` + id + `",`
	}
	return `{"resourceType":"Observation",` + idPart + `"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"}}`
}

// putAnswer PUTs a Patient/1 Observation to id, directly (mode "") or as
// the one entry of a "batch" or "transaction", and returns what the
// answer tells: status, ETag and Location, or the refusal.
func (a *attackServer) putAnswer(t *testing.T, tok, mode, id, ifMatch string) string {
	t.Helper()
	if mode == "" {
		var hdr []string
		if ifMatch != "" {
			hdr = []string{"If-Match", ifMatch}
		}
		r := a.do(t, http.MethodPut, "/Observation/"+id, tok, fhirJSON, obsFor(id, "1"), hdr...)
		if r.status >= 300 {
			return fmt.Sprintf("%d %s", r.status, r.body)
		}
		return fmt.Sprintf("%d %s %s", r.status, r.header.Get("ETag"), r.header.Get("Location"))
	}
	req, _ := json.Marshal(map[string]string{"method": "PUT", "url": "Observation/" + id, "ifMatch": ifMatch})
	bundle := `{"resourceType":"Bundle","type":"` + mode + `","entry":[{"resource":` + obsFor(id, "1") + `,"request":` + string(req) + `}]}`
	r := a.do(t, http.MethodPost, "", tok, fhirJSON, bundle)
	var resp struct {
		Entry []struct {
			Response struct {
				Status, Etag, Location string
				Outcome                json.RawMessage
			}
		}
	}
	require.NoError(t, json.Unmarshal(r.body, &resp), "%s", r.body)
	if r.status != http.StatusOK || len(resp.Entry) != 1 {
		return fmt.Sprintf("%d %s", r.status, r.body)
	}
	e := resp.Entry[0].Response
	if !strings.HasPrefix(e.Status, "2") {
		return fmt.Sprintf("%s %s", e.Status, e.Outcome)
	}
	return fmt.Sprintf("%s %s %s", strings.Fields(e.Status)[0], e.Etag, e.Location)
}

// versionsAs returns the number of versions in ref's history as the
// holder of tok sees it.
func (a *attackServer) versionsAs(t *testing.T, tok, ref string) int {
	t.Helper()
	r := a.do(t, http.MethodGet, "/"+ref+"/_history", tok, "", "")
	require.Equal(t, http.StatusOK, r.status, "history of %s: %s", ref, r.body)
	entries, _ := r.doc["entry"].([]any) // a checked history Bundle has no total
	return len(entries)
}
