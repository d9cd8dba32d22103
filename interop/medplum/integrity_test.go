package medplum

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// existenceOracles compares, for the patient token, each request about
// another patient's resource with the same request about a resource that
// does not exist: a difference in status or body tells the caller that the
// other resource exists. It returns the number of requests made.
func existenceOracles(ctx context.Context, t *testing.T, e *env, patientToken, firstVersion string) int {
	pairs := [][2]string{
		{"Observation/obs-p2-1", "Observation/no-such-obs"},
		{"Patient/p2", "Patient/no-such-patient"},
		{"Observation/obs-p2-1/_history", "Observation/no-such-obs/_history"},
		{"Patient/p2/_history", "Patient/no-such-patient/_history"},
		{"Observation/obs-p2-1/_history/" + firstVersion, "Observation/no-such-obs/_history/" + firstVersion},
	}
	n := 0
	for _, p := range pairs {
		t.Run(p[0], func(t *testing.T) {
			status, body := send(ctx, t, http.MethodGet, e.gateway, p[0], patientToken, "")
			missingStatus, missingBody := send(ctx, t, http.MethodGet, e.gateway, p[1], patientToken, "")
			n += 2
			require.Empty(t, foreign(t, body), "LEAK: GET %s: %s", p[0], body)
			for _, other := range patients[1:] {
				require.NotContains(t, string(body), marker(other), "LEAK: GET %s", p[0])
			}
			id := strings.Split(p[0], "/")[1]
			missingID := strings.Split(p[1], "/")[1]
			same := status == missingStatus && string(body) == strings.ReplaceAll(string(missingBody), missingID, id)
			require.True(t, same, "existence oracle: GET %s answers %d %s, but GET %s (missing) answers %d %s",
				p[0], status, body, p[1], missingStatus, missingBody)
		})
	}
	return n
}

// writes tries, with a patient/*.cruds token for p1, to change other
// patients' records through the gateway, alone and inside a transaction,
// then checks in the upstream that nothing changed; and that a write to
// the patient's own record goes through. It returns the requests made.
func writes(ctx context.Context, t *testing.T, e *env) int {
	tok := e.token("patient/*.cruds", contextPatient)
	before := snapshot(ctx, t, e)
	hijack := `{"resourceType":"Observation","id":"obs-p2-2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	plant := `{"resourceType":"Observation","status":"final","code":{"text":"planted"},"subject":{"reference":"Patient/p2"}}`
	attempts := []struct{ method, target, body string }{
		{http.MethodPut, "Observation/obs-p2-2", hijack},
		// A create whose body names obs-p2-2: medplum stores a created
		// resource under the id its body has, replacing p2's.
		{http.MethodPost, "Observation", hijack},
		{http.MethodPost, "Observation", plant},
		{http.MethodDelete, "Observation/obs-p3-1", ""},
		{http.MethodPost, "", `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"resource":` + hijack + `,"request":{"method":"PUT","url":"Observation/obs-p2-2"}},` +
			`{"resource":` + plant + `,"request":{"method":"POST","url":"Observation"}},` +
			`{"request":{"method":"DELETE","url":"Observation/obs-p3-1"}}]}`},
		{http.MethodPost, "", `{"resourceType":"Bundle","type":"batch","entry":[` +
			`{"resource":` + hijack + `,"request":{"method":"PUT","url":"Observation/obs-p2-2"}},` +
			`{"request":{"method":"DELETE","url":"Observation/obs-p3-1"}}]}`},
	}
	// medplum replaces the first urn:uuid inside any string of a
	// transaction: the placeholder of the PUT of p1 followed by "0"
	// would be stored as Patient/p10, another patient.
	const placeholder = "urn:uuid:0b1c2d3e-0000-4000-8000-00000000000a"
	attempts = append(attempts, struct{ method, target, body string }{http.MethodPost, "", `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"fullUrl":"` + placeholder + `","resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}},` +
		`{"resource":{"resourceType":"Observation","status":"final","code":{"text":"planted"},"subject":{"reference":"Patient/p1"},` +
		`"performer":[{"reference":"` + placeholder + `0"}]},"request":{"method":"POST","url":"Observation"}}]}`})
	for _, a := range attempts {
		status, body := send(ctx, t, a.method, e.gateway, a.target, tok, a.body)
		t.Logf("%s %s: %d %s", a.method, a.target, status, body)
		require.Empty(t, foreign(t, body), "LEAK in the answer to %s %s: %s", a.method, a.target, body)
	}
	assert.Equal(t, before, snapshot(ctx, t, e), "other patients' records changed through the gateway")
	_, planted := send(ctx, t, http.MethodGet, e.upstream, "Observation?performer=Patient/p10", "", "")
	assert.Empty(t, resourcesIn(t, planted), "an Observation was written into Patient/p10's compartment through the gateway")

	// medplum reads a PATCH entry's Parameters as JSON Patch operations:
	// a move from /subject would take p1's Observation out of the
	// compartment, which no patch may change.
	moveOut := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PATCH","url":"Observation/obs-p1-1"},` +
		`"resource":{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"op","valueCode":"move"},` +
		`{"name":"from","valueString":"/subject"},{"name":"path","valueString":"/basedOn"}]}]}}]}`
	status, body := send(ctx, t, http.MethodPost, e.gateway, "", tok, moveOut)
	t.Logf("PATCH move from /subject: %d %s", status, body)
	_, stored := send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p1-1", "", "")
	assert.Equal(t, "p1", owner(resourcesIn(t, stored)[0]), "a patch moved obs-p1-1 out of p1's compartment: %s", stored)

	own := `{"resourceType":"Observation","id":"obs-p1-3","status":"amended","code":{"text":"heart rate"},"subject":{"reference":"Patient/p1"}}`
	status, body = send(ctx, t, http.MethodPut, e.gateway, "Observation/obs-p1-3", tok, own)
	assert.Equal(t, http.StatusOK, status, "updating the patient's own Observation: %s", body)
	_, after := send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p1-3", "", "")
	assert.Contains(t, string(after), `"amended"`, "the own update reached the upstream")

	// The gateway pins the delete to the version it checked (If-Match:
	// W/"<versionId>"); medplum ignores If-Match on a delete and carries
	// it out all the same.
	status, body = send(ctx, t, http.MethodDelete, e.gateway, "Observation/obs-p1-3", tok, "")
	assert.Less(t, status, 300, "deleting the patient's own Observation: %s", body)
	status, _ = send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p1-3", "", "")
	assert.GreaterOrEqual(t, status, 400, "the own delete reached the upstream")
	return len(attempts) + 2
}

// snapshot is every Observation of p2 and p3 in the upstream, by key
// (with version) and subject.
func snapshot(ctx context.Context, t *testing.T, e *env) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range patients[1:] {
		status, body := send(ctx, t, http.MethodGet, e.upstream, "Observation?subject=Patient/"+p, "", "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		for _, r := range resourcesIn(t, body) {
			b, err := json.Marshal(r["subject"])
			require.NoError(t, err)
			out[key(r)] = string(b)
		}
	}
	// obs-p2-2 hijacked to p1 would leave the p2 search: read it directly.
	_, body := send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p2-2", "", "")
	for _, r := range resourcesIn(t, body) {
		out["read "+key(r)] = owner(r)
	}
	return out
}

// misshapenReferences writes, with a patient/*.cruds token for p1,
// Observations of p1 whose performer reference is not a string. medplum
// stores such a body as it is (it does not validate it), so what a
// reader makes of ["Patient/p2"] decides whose record it is: the gateway
// refuses it as malformed. It returns the requests made.
func misshapenReferences(ctx context.Context, t *testing.T, e *env) int {
	tok := e.token("patient/*.cruds", contextPatient)
	n := 0
	for _, ref := range []string{`["Patient/p2"]`, `{"reference":"Patient/p2"}`, `2`, `null`} {
		body := `{"resourceType":"Observation","status":"final","code":{"text":"misshapen"},"subject":{"reference":"Patient/p1"},"performer":[{"reference":` + ref + `}]}`
		t.Run(ref, func(t *testing.T) {
			status, stored := send(ctx, t, http.MethodPost, e.upstream, "Observation", "", body)
			require.Equal(t, http.StatusCreated, status, "medplum stores it: %s", stored)
			status, answer := send(ctx, t, http.MethodPost, e.gateway, "Observation", tok, body)
			n += 2
			assert.Equal(t, http.StatusBadRequest, status, "%s", answer)
			assert.Contains(t, string(answer), "not a string")
		})
	}
	return n
}
