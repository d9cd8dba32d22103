package medplum

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serverWrite is a write that changes what the server does beyond one
// record: a Subscription (a standing search whose results medplum
// delivers with its own rights) or a SearchParameter. body is a resource
// for POST [type], or a transaction Bundle; its marker finds what medplum
// stored.
type serverWrite struct {
	name, scopes, patient string
	typ, marker, body     string
	stored                bool
}

// patientSub are the scopes of a patient-context token that may write
// Subscriptions whose criteria it may run: its own Observations.
const patientSub = "user/Subscription.cu patient/Observation.rs patient/Patient.rus"

// serverWrites sends each write through the gateway, then looks in
// medplum's store, with the backend's access, for what it stored. Every
// Subscription a patient-context token got stored is run through medplum's
// own subscription matching over the seeded resources: it must select no
// other patient's. It returns the requests made.
func serverWrites(ctx context.Context, t *testing.T, e *env) int {
	const urn = "urn:uuid:5b0c1d2e-0000-4000-8000-00000000000b"
	p1, err := json.Marshal(seeded("Patient/p1"))
	require.NoError(t, err)
	sub := func(marker, criteria string) string {
		return `{"resourceType":"Subscription","status":"requested","reason":"` + marker + `","criteria":"` + criteria +
			`","channel":{"type":"rest-hook","endpoint":"https://hook.example/in","payload":"application/fhir+json"}}`
	}
	// In a transaction medplum replaces a fullUrl wherever it occurs in
	// a string: the criteria is decided as written, with the urn, and
	// stored with "Patient/p1" in its place.
	urnTx := func(marker, criteria string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"fullUrl":"` + urn + `","resource":` + string(p1) + `,"request":{"method":"PUT","url":"Patient/p1"}},` +
			`{"resource":` + sub(marker, criteria) + `,"request":{"method":"POST","url":"Subscription"}}]}`
	}
	sp := func(marker string) string {
		return `{"resourceType":"SearchParameter","url":"http://example.org/SearchParameter/` + marker + `","name":"` + marker +
			`","status":"active","description":"x","code":"` + marker + `","base":["Observation"],"type":"token","expression":"Observation.status"}`
	}
	constrained := "user/Subscription.cu user/Observation.rs?category=vital-signs user/Condition.rs"
	writes := []serverWrite{
		{name: "constrained token, criteria it may not run", scopes: constrained, typ: "Subscription", marker: "sub-1",
			body: sub("sub-1", "Observation?category=laboratory")},
		{name: "constrained token, criteria it may run", scopes: constrained, typ: "Subscription", marker: "sub-2",
			body: sub("sub-2", "Condition?code=asthma"), stored: true},
		{name: "system token", scopes: "system/*.cruds", typ: "Subscription", marker: "sub-3",
			body: sub("sub-3", "Observation?category=laboratory"), stored: true},
		{name: "patient token, own compartment", scopes: patientSub, patient: contextPatient, typ: "Subscription", marker: "sub-4",
			body: sub("sub-4", "Observation?patient=Patient/p1"), stored: true},
		{name: "patient token, no compartment", scopes: patientSub, patient: contextPatient, typ: "Subscription", marker: "sub-5",
			body: sub("sub-5", "Observation?code=heart%20rate")},
		// medplum reads a criteria up to its second "?": every Observation.
		{name: "patient token, second question mark", scopes: patientSub, patient: contextPatient, typ: "Subscription", marker: "sub-6",
			body: sub("sub-6", "Observation?_sort=date?&patient=Patient/p1")},
		{name: "patient token, urn in a value", scopes: patientSub, patient: contextPatient, typ: "Subscription", marker: "sub-7",
			body: urnTx("sub-7", "Observation?code="+urn+"&patient=Patient/p1"), stored: true},
		{name: "patient token, urn as the patient", scopes: patientSub, patient: contextPatient, typ: "Subscription", marker: "sub-8",
			body: urnTx("sub-8", "Observation?patient="+urn)},
		// medplum matches _id without regard to case: Patient/P1 too.
		{name: "patient token, own Patient by _id", scopes: patientSub, patient: contextPatient, typ: "Subscription", marker: "sub-9",
			body: sub("sub-9", "Patient?_id=p1")},
		{name: "user wildcard", scopes: "user/*.cruds", typ: "SearchParameter", marker: "sp1", body: sp("sp1")},
		{name: "system scope naming the type", scopes: "system/SearchParameter.c", typ: "SearchParameter", marker: "sp2", body: sp("sp2"), stored: true},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			target := w.typ
			if strings.Contains(w.body, `"type":"transaction"`) {
				target = ""
			}
			status, body := send(ctx, t, http.MethodPost, e.gateway, target, e.token(w.scopes, w.patient), w.body)
			t.Logf("%d %s", status, body)
			found := storedWith(ctx, t, e, w.typ, w.marker)
			for _, r := range found {
				if w.typ != "Subscription" || w.patient == "" {
					continue
				}
				criteria, _ := r["criteria"].(string)
				t.Logf("stored criteria %q", criteria)
				for _, k := range medplumMatches(ctx, t, criteria) {
					o := owner(seeded(k))
					require.True(t, o == "" || o == w.patient, "LEAK: medplum would deliver %s to the Subscription %q", k, criteria)
				}
			}
			if !w.stored {
				assert.Equal(t, http.StatusForbidden, status, "%s", body)
				assert.Empty(t, found, "medplum stored a %s the gateway should have refused", w.typ)
				return
			}
			assert.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, "%s", body)
			assert.Len(t, found, 1, "medplum stored the %s", w.typ)
		})
	}
	return len(writes)
}

// storedWith returns medplum's stored resources of type typ whose JSON
// holds marker.
func storedWith(ctx context.Context, t *testing.T, e *env, typ, marker string) []map[string]any {
	t.Helper()
	status, body := send(ctx, t, http.MethodGet, e.upstream, typ+"?_count=1000", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var out []map[string]any
	for _, r := range resourcesIn(t, body) {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		if bytes.Contains(b, []byte(`"`+marker+`"`)) {
			out = append(out, r)
		}
	}
	return out
}

// seeded is the seeded resource with key "Type/id", caseVariant's
// included.
func seeded(k string) map[string]any {
	for _, r := range append(seedResources(), caseVariantResources()...) {
		if fmt.Sprintf("%s/%s", r["resourceType"], r["id"]) == k {
			return r
		}
	}
	return nil
}

// medplumMatches returns the keys of the seeded resources (caseVariant's
// included) medplum's subscription matching (matches.mjs) selects with
// criteria.
func medplumMatches(ctx context.Context, t *testing.T, criteria string) []string {
	t.Helper()
	in, err := json.Marshal(map[string]any{"criteria": criteria, "resources": append(seedResources(), caseVariantResources()...)})
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, "node", "matches.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "matches.mjs: %s", stderr.String())
	var keys []string
	require.NoError(t, json.Unmarshal(out, &keys), "matches.mjs output: %s", out)
	return keys
}
