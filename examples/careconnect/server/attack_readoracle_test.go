package server_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A patient-context reader must not learn which ids exist outside its
// compartment: a read, vread or instance history of another patient's
// Observation answers exactly as one that never existed (status, headers
// but Date, body but the id).
func TestCareConnectAttackReadExistenceOracle(t *testing.T) {
	a := startAttack(t, attackClients)
	ro := a.token(t, "ro", "")
	for _, path := range []string{"/Observation/ID", "/Observation/ID/_history", "/Observation/ID/_history/1", "/Observation/ID/_history?_summary=count"} {
		other := a.do(t, http.MethodGet, strings.ReplaceAll(path, "ID", "obs-lab-2"), ro, "", "")
		missing := a.do(t, http.MethodGet, strings.ReplaceAll(path, "ID", "no-such-id"), ro, "", "")
		assert.Equal(t, http.StatusNotFound, other.status, "%s: %s", path, other.body)
		assert.Equal(t, missing.status, other.status, path)
		assert.Equal(t, replyShape(missing, "no-such-id"), replyShape(other, "obs-lab-2"), path)
		own := a.do(t, http.MethodGet, strings.ReplaceAll(path, "ID", "obs-lab-1"), ro, "", "")
		assert.Equal(t, http.StatusOK, own.status, "%s own: %s", path, own.body)
	}
}

// replyShape is what a reply tells about the resource id it was about:
// status, headers but Date and X-Request-Id, and body with id replaced.
func replyShape(r reply, id string) string {
	var keys []string
	for k := range r.header {
		if k != "Date" && k != "X-Request-Id" {
			keys = append(keys, k+": "+strings.Join(r.header[k], ","))
		}
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d\n%s\n%s", r.status, strings.Join(keys, "\n"), strings.ReplaceAll(string(r.body), id, "ID"))
}

// The instance history of a resource moved into or out of the patient's
// compartment holds a version the patient-context reader may not read:
// it is withheld as a whole, answered exactly as a missing resource's,
// as fhirauth's CheckResponse does, rather than shown in part (which
// would tell that the resource has versions elsewhere). So is a vread
// of such a version; the readable versions stay readable.
func TestCareConnectAttackHistoryOfMovedResource(t *testing.T) {
	a := startAttack(t, `[
 {"client_id":"ro","client_secret":"s3cret","scope":"patient/*.rs launch/patient","patient":"1"},
 {"client_id":"uw","client_secret":"s3cret","scope":"user/*.cruds"}
]`)
	ro, uw := a.token(t, "ro", ""), a.token(t, "uw", "")
	move := func(id string, patients ...string) {
		for _, p := range patients {
			r := a.do(t, http.MethodPut, "/Observation/"+id, uw, fhirJSON, obsFor(id, p))
			require.Less(t, r.status, 300, "%s", r.body)
		}
	}
	move("moved-out", "1", "2")
	move("moved-in", "2", "1")
	move("stayed", "1", "1")
	move("moved-in-deleted", "2", "1")
	require.Equal(t, http.StatusNoContent, a.do(t, http.MethodDelete, "/Observation/moved-in-deleted", uw, "", "").status)

	withheld := []string{"moved-out/_history", "moved-out/_history/2", "moved-in/_history", "moved-in/_history/1",
		"moved-in-deleted/_history", "moved-in/_history?_summary=count"}
	for _, p := range withheld {
		id, rest, _ := strings.Cut(p, "/")
		got := a.do(t, http.MethodGet, "/Observation/"+p, ro, "", "")
		missing := a.do(t, http.MethodGet, "/Observation/no-such-id/"+rest, ro, "", "")
		assert.Equal(t, http.StatusNotFound, got.status, "%s: %s", p, got.body)
		assert.Equal(t, replyShape(missing, "no-such-id"), replyShape(got, id), p)
	}
	// A version number past the end answers the same.
	got := a.do(t, http.MethodGet, "/Observation/moved-in/_history/9", ro, "", "")
	assert.Equal(t, replyShape(a.do(t, http.MethodGet, "/Observation/moved-in/_history/1", ro, "", ""), "moved-in"), replyShape(got, "moved-in"))

	for _, p := range []string{"moved-out/_history/1", "moved-in", "moved-in/_history/2"} {
		r := a.do(t, http.MethodGet, "/Observation/"+p, ro, "", "")
		assert.Equal(t, http.StatusOK, r.status, "%s: %s", p, r.body)
	}
	assert.Equal(t, 2, a.versionsAs(t, ro, "Observation/stayed"), "no version withheld")
	assert.Equal(t, 2, a.versionsAs(t, uw, "Observation/moved-in"), "a user/ reader sees the whole history")
}
