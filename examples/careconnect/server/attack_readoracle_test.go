package server_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A patient-context reader must not learn which ids exist outside its
// compartment: a read, vread or instance history of another patient's
// Observation answers exactly as one that never existed (status, headers
// but Date, body but the id).
func TestCareConnectAttackReadExistenceOracle(t *testing.T) {
	a := startAttack(t, attackClients)
	ro := a.token(t, "ro", "")
	shape := func(r reply, id string) string {
		var keys []string
		for k := range r.header {
			if k != "Date" && k != "X-Request-Id" {
				keys = append(keys, k+": "+strings.Join(r.header[k], ","))
			}
		}
		sort.Strings(keys)
		return strings.Join(keys, "\n") + "\n" + strings.ReplaceAll(string(r.body), id, "ID")
	}
	for _, path := range []string{"/Observation/ID", "/Observation/ID/_history", "/Observation/ID/_history/1", "/Observation/ID/_history?_summary=count"} {
		other := a.do(t, http.MethodGet, strings.ReplaceAll(path, "ID", "obs-lab-2"), ro, "", "")
		missing := a.do(t, http.MethodGet, strings.ReplaceAll(path, "ID", "no-such-id"), ro, "", "")
		assert.Equal(t, http.StatusNotFound, other.status, "%s: %s", path, other.body)
		assert.Equal(t, missing.status, other.status, path)
		assert.Equal(t, shape(missing, "no-such-id"), shape(other, "obs-lab-2"), path)
		own := a.do(t, http.MethodGet, strings.ReplaceAll(path, "ID", "obs-lab-1"), ro, "", "")
		assert.Equal(t, http.StatusOK, own.status, "%s own: %s", path, own.body)
	}
}
