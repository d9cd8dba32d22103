package medplum

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entryURLs sends, directly and through the gateway with the
// patient/*.rs token, Bundle entries that search by POST. medplum reads
// such an entry's parameters from its resource and drops request.url's
// query, so the entry, however the gateway narrows its query, returns
// every patient's Observations: the gateway must refuse it. It returns
// the requests made.
func entryURLs(ctx context.Context, t *testing.T, e *env, patientToken string) int {
	n := 0
	for _, u := range []string{"Observation/_search", "Observation/_search?subject=Patient/p1"} {
		for _, kind := range []string{"batch", "transaction"} {
			b := `{"resourceType":"Bundle","type":"` + kind + `","entry":[{"request":{"method":"POST","url":"` + u + `"}}]}`
			t.Run(kind+"/"+u, func(t *testing.T) {
				_, up := send(ctx, t, http.MethodPost, e.upstream, "", "", b)
				require.Contains(t, string(up), marker("p2"), "medplum answers POST %s in a %s with every patient's Observations", u, kind)
				status, body := send(ctx, t, http.MethodPost, e.gateway, "", patientToken, b)
				n += 2
				for _, p := range patients[1:] {
					require.NotContains(t, string(body), marker(p), "LEAK: POST %s in a %s returned %s's data (status %d): %s", u, kind, p, status, body)
				}
				assert.Equal(t, http.StatusBadRequest, status, "%s", body)
				assert.Contains(t, string(body), "cannot search by POST")
			})
		}
	}
	return n
}

// entryURLQuestionMarks shows that medplum reads a conditional Bundle
// entry's request.url only up to its second "?": a DELETE of
// Observation?_id=obs-qm?&category=laboratory deletes obs-qm, which has
// no category. Through the gateway, a conditional delete of that shape
// with user/Observation.cruds?category=laboratory, which would delete an
// Observation outside the token's constraint, is refused for its url
// (400) and obs-p2-1 stays. It returns the requests made.
func entryURLQuestionMarks(ctx context.Context, t *testing.T, e *env) int {
	const u = "Observation?_id=obs-p2-1?&category=laboratory"
	// A throwaway Observation without a category, deleted by medplum
	// through the same shape sent directly.
	status, body := send(ctx, t, http.MethodPut, e.upstream, "Observation/obs-qm", "", `{"resourceType":"Observation","id":"obs-qm","status":"final","code":{"text":"x"}}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
	direct := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Observation?_id=obs-qm?&category=laboratory"}}]}`
	_, up := send(ctx, t, http.MethodPost, e.upstream, "", "", direct)
	status, _ = send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-qm", "", "")
	require.Equal(t, http.StatusNotFound, status, "medplum deletes obs-qm, which has no category, for %q: %s", "Observation?_id=obs-qm?&category=laboratory", up)

	lab := e.token("user/Observation.cruds?category=laboratory", "")
	for _, kind := range []string{"batch", "transaction"} {
		del := `{"resourceType":"Bundle","type":"` + kind + `","entry":[{"request":{"method":"DELETE","url":"` + u + `"}}]}`
		status, body = send(ctx, t, http.MethodPost, e.gateway, "", lab, del)
		assert.Equal(t, http.StatusBadRequest, status, "%s", body)
		assert.Contains(t, string(body), `second \"?\"`)
		status, body = send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p2-1", "", "")
		require.Equal(t, http.StatusOK, status, "LEAK: the %s deleted obs-p2-1, which is not a laboratory Observation: %s", kind, body)
	}
	return 3
}

// entryURLControls shows that medplum's router drops a tab in a Bundle
// entry's request.url before it reads the query (queryparse.mjs, WHATWG
// URL): a DELETE of Observation?_id=obs-ctl<TAB> deletes obs-ctl, which
// fhirauth would have judged as the id "obs-ctl<TAB>". Through the
// gateway such an entry is refused (400) for a constrained user token
// and for the patient token, and obs-p2-1 stays. It returns the requests
// made.
func entryURLControls(ctx context.Context, t *testing.T, e *env, patientToken string) int {
	status, body := send(ctx, t, http.MethodPut, e.upstream, "Observation/obs-ctl", "", `{"resourceType":"Observation","id":"obs-ctl","status":"final","code":{"text":"x"}}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
	_, up := send(ctx, t, http.MethodPost, e.upstream, "", "", controlBundle("batch", "DELETE", "Observation?_id=obs-ctl\t"))
	status, _ = send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-ctl", "", "")
	require.Equal(t, http.StatusNotFound, status, "medplum deletes obs-ctl for _id=obs-ctl<TAB>: %s", up)

	n := 3
	lab := e.token("user/Observation.cruds?category=laboratory", "")
	for _, tc := range []struct{ token, method, url string }{
		{lab, "DELETE", "Observation?_id=obs-p2-1\t&category=laboratory"},
		{lab, "PATCH", "Observation?_id=obs-p2-1\t&category=laboratory"},
		{patientToken, "DELETE", "Observation?_id=obs-p2-1\t&patient=Patient/p1"},
	} {
		for _, kind := range []string{"batch", "transaction"} {
			status, body = send(ctx, t, http.MethodPost, e.gateway, "", tc.token, controlBundle(kind, tc.method, tc.url))
			assert.Equal(t, http.StatusBadRequest, status, "%s", body)
			assert.Contains(t, string(body), "space or control character")
			status, body = send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p2-1", "", "")
			require.Equal(t, http.StatusOK, status, "LEAK: the %s %s %q reached obs-p2-1: %s", kind, tc.method, tc.url, body)
			n += 2
		}
	}
	return n
}

// controlBundle is a Bundle of kind with one entry: method url, with a
// JSON Patch Binary for a PATCH.
func controlBundle(kind, method, url string) string {
	u, _ := json.Marshal(url)
	e := `{"request":{"method":"` + method + `","url":` + string(u) + `}`
	if method == http.MethodPatch {
		e += `,"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9zdGF0dXMiLCJ2YWx1ZSI6ImNhbmNlbGxlZCJ9XQ=="}`
	}
	return `{"resourceType":"Bundle","type":"` + kind + `","entry":[` + e + `}]}`
}
