package fhirapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/fhirapi"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// compartment is a test Access: only resources of one patient's compartment
// (crudely: the Patient itself or resources whose JSON references it).
type compartment struct{ patient string }

func (c compartment) in(r *store.Resource) bool {
	if r.Type == "Patient" {
		return r.ID == c.patient
	}
	return strings.Contains(string(r.JSON), `"reference":"Patient/`+c.patient+`"`)
}

func (c compartment) Readable(r *store.Resource) error {
	if !c.in(r) {
		return fmt.Errorf("%w: outside the compartment", store.ErrNotFound)
	}
	return nil
}

func (c compartment) Writable(r *store.Resource) error {
	if r == nil {
		return errors.New("this token may not create by update")
	}
	if !c.in(r) {
		return errors.New("outside the compartment of Patient/" + c.patient)
	}
	return nil
}

func patientOne(t *testing.T) *api {
	a := newAPI(t, fhirversion.STU3, fhirapi.WithAccess(func(r *http.Request) (fhirapi.Access, error) {
		if i, n, ok := fhirapi.EntryOf(r.Context()); ok && (i < 0 || i >= n) {
			return nil, errors.New("bad entry position")
		}
		if r.Header.Get("X-Refuse") != "" {
			return nil, errors.New("refused by policy")
		}
		return compartment{"1"}, nil
	}))
	return a
}

func TestAccessHidesAndNarrows(t *testing.T) {
	a := patientOne(t)
	assert.Equal(t, http.StatusOK, a.get("/fhir/Patient/1").status)
	res := a.get("/fhir/Patient/2")
	assert.Equal(t, http.StatusNotFound, res.status, "existence hiding")
	assert.Equal(t, http.StatusNotFound, a.get("/fhir/Observation/obs-lab-2").status)
	assert.Equal(t, http.StatusNotFound, a.get("/fhir/Observation/obs-lab-2/_history/1").status)
	assert.Equal(t, http.StatusNotFound, a.get("/fhir/Observation/obs-lab-2/_history").status)

	res = a.get("/fhir/Observation?_count=1")
	assert.Equal(t, float64(2), res.doc["total"], "total counts only what the caller may see")
	assert.Equal(t, []string{"Observation/obs-lab-1"}, entryRefs(res))
	res = a.get("/fhir/Observation?_summary=count")
	assert.Equal(t, float64(2), res.doc["total"], "count leak")
	res = a.get("/fhir/Observation?patient=2")
	assert.Equal(t, float64(0), res.doc["total"])
	res = a.get("/fhir/Patient?_revinclude=Observation:patient&_id=1,2")
	assert.ElementsMatch(t, []string{"Patient/1", "Observation/obs-lab-1", "Observation/obs-vital-1"}, entryRefs(res))
	res = a.get("/fhir/Observation?_include=Observation:performer")
	for _, r := range entryRefs(res) {
		assert.NotContains(t, r, "Practitioner", "included resources are checked too")
	}
	assert.Equal(t, http.StatusNotFound, a.get("/fhir/Patient/2/$everything").status)
	res = a.get("/fhir/Patient/2/Observation")
	assert.Equal(t, float64(0), res.doc["total"])

	res = a.do(http.MethodGet, "/fhir/Patient/1", "", "", "X-Refuse", "1")
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Contains(t, diag(res), "refused by policy")
}

func TestAccessGuardsWrites(t *testing.T) {
	a := patientOne(t)
	// update hijack: the stored Observation belongs to patient 2.
	body := `{"resourceType":"Observation","id":"obs-lab-2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"}}`
	res := a.do(http.MethodPut, "/fhir/Observation/obs-lab-2", fhirJSON, body)
	assert.Equal(t, http.StatusForbidden, res.status)
	// give-away by patch.
	res = a.do(http.MethodPatch, "/fhir/Observation/obs-lab-1", "application/json-patch+json",
		`[{"op":"replace","path":"/subject/reference","value":"Patient/2"}]`)
	assert.Equal(t, http.StatusForbidden, res.status)
	// update-as-create needs permission the Access can refuse.
	res = a.do(http.MethodPut, "/fhir/Observation/brand-new", fhirJSON,
		`{"resourceType":"Observation","id":"brand-new","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"}}`)
	assert.Equal(t, http.StatusForbidden, res.status)
	// create for another patient.
	res = a.do(http.MethodPost, "/fhir/Observation", fhirJSON, strings.Replace(newObservation, "Patient/1", "Patient/2", 1))
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Equal(t, http.StatusForbidden, a.do(http.MethodDelete, "/fhir/Condition/cond-2", "", "").status)
	// conditional delete only sees (and so only deletes) visible matches.
	assert.Equal(t, http.StatusNoContent, a.do(http.MethodDelete, "/fhir/Condition?patient=2", "", "").status)
	a2 := a.store
	c, err := a2.Read("Condition", "cond-2")
	require.NoError(t, err)
	assert.Equal(t, 1, c.Version, "nothing changed")

	// transaction smuggle: one entry outside the compartment fails all.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":` + newObservation + `,"request":{"method":"POST","url":"Observation"}},
 {"request":{"method":"DELETE","url":"Observation/obs-lab-2"}}]}`
	res = a.do(http.MethodPost, "/fhir", fhirJSON, tx)
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Equal(t, float64(2), a.get("/fhir/Observation?_summary=count").doc["total"], "the allowed create was rolled back")

	// batch: the allowed entry runs, the other gets an entry-level 403/404.
	batch := strings.Replace(tx, `"transaction"`, `"batch"`, 1)
	res = a.do(http.MethodPost, "/fhir", fhirJSON, batch)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, []string{"201 Created", "403 Forbidden"}, statuses(res))
}

// An instance history with a content version the Access refuses is
// withheld as a whole, like the missing resource it is answered as;
// deletion records hold no content and withhold nothing.
func TestAccessWithholdsHistoryWithAVersionOutside(t *testing.T) {
	a := patientOne(t)
	obs := func(id, patient string) []byte {
		return []byte(`{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + patient + `"}}`)
	}
	for id, owners := range map[string][]string{"moved-in": {"2", "1"}, "moved-out": {"1", "2"}, "own": {"1", "1"}} {
		for _, p := range owners {
			_, err := a.store.Put("Observation", obs(id, p))
			require.NoError(t, err)
		}
	}
	_, err := a.store.Delete("Observation", "own", store.Precondition{})
	require.NoError(t, err)

	for _, id := range []string{"moved-in", "moved-out"} {
		res := a.get("/fhir/Observation/" + id + "/_history")
		assert.Equal(t, http.StatusNotFound, res.status, id)
		assert.Equal(t, "resource not found", diag(res), id)
	}
	assert.Equal(t, http.StatusNotFound, a.get("/fhir/Observation/moved-in/_history/1").status)
	assert.Equal(t, http.StatusOK, a.get("/fhir/Observation/moved-in/_history/2").status)
	res := a.get("/fhir/Observation/own/_history")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, []string{"-", "Observation/own", "Observation/own"}, entryRefs(res))
}
