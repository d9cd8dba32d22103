package medplum

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientResult is one operation of client.mjs.
type clientResult struct {
	Name   string          `json:"name"`
	OK     bool            `json:"ok"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// runClient runs client.mjs against the gateway with token.
func runClient(ctx context.Context, t *testing.T, e *env, token string) map[string]clientResult {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Env = append(os.Environ(), "BASE="+e.gateway, "TOKEN="+token, "OWN="+contextPatient, "OTHER=p2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "client.mjs: %s", stderr.String())
	var results []clientResult
	require.NoError(t, json.Unmarshal(out, &results), "client.mjs output: %s", out)
	byName := map[string]clientResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	return byName
}

// pagesResult is what client.mjs reports for nextPage.
type pagesResult struct {
	Pages  int               `json:"pages"`
	IDs    []string          `json:"ids"`
	Links  []string          `json:"links"`
	Bodies []json.RawMessage `json:"bodies"`
}

// runFhirKitClient drives fhir-kit-client through the gateway with both
// tokens; it returns the number of client operations run.
func runFhirKitClient(ctx context.Context, t *testing.T, e *env, patientToken, systemToken string) int {
	mine := runClient(ctx, t, e, patientToken)
	all := runClient(ctx, t, e, systemToken)
	for name, r := range mine {
		t.Run("patient/"+name, func(t *testing.T) {
			t.Logf("ok=%v status=%d", r.OK, r.Status)
			for _, p := range patients[1:] {
				require.NotContains(t, string(r.Body), marker(p), "LEAK through fhir-kit-client %s: %s", name, r.Body)
			}
			require.Empty(t, foreign(t, r.Body), "LEAK through fhir-kit-client %s: %s", name, r.Body)
			checkClientResult(t, e, name, r, true)
		})
	}
	for name, r := range all {
		t.Run("system/"+name, func(t *testing.T) {
			t.Logf("ok=%v status=%d", r.OK, r.Status)
			checkClientResult(t, e, name, r, false)
		})
	}
	return len(mine) + len(all)
}

// checkClientResult holds each operation to what a client may expect
// through the gateway.
func checkClientResult(t *testing.T, e *env, name string, r clientResult, patientContext bool) {
	switch name {
	case "batch":
		// fhir-kit-client POSTs to [base]/ (trailing slash); entries that
		// name another patient are answered entry by entry.
		require.True(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
	case "transaction":
		// The same entries as a transaction: all or nothing, so the entry
		// naming another patient refuses the whole of it for the patient
		// token (fail closed).
		if patientContext {
			require.False(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
			assert.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
			return
		}
		require.True(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
	case "systemSearch":
		// GET [base]/?_type=...: a system search; patient/ scopes cannot
		// limit one to the compartment, so it is refused with a reason.
		if patientContext {
			require.False(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
			assert.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
			return
		}
		require.True(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
	case "historyOther":
		// Another patient's resource's history answers as a missing
		// resource's would: 404, no existence oracle.
		if patientContext {
			require.False(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
			assert.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
			return
		}
		assert.True(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
	case "readOther":
		if patientContext {
			assert.False(t, r.OK, "%s must fail for the patient token: %s", name, r.Body)
			return
		}
		assert.True(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
	case "compartmentSearch":
		// medplum's router has no compartment search: the upstream's 404
		// passes through (with the system token; the gateway may refuse
		// the patient token's compartment search itself).
		t.Logf("compartment search: ok=%v status=%d %s", r.OK, r.Status, r.Body)
	case "nextPage":
		require.True(t, r.OK, "%d %s", r.Status, r.Body)
		var p pagesResult
		require.NoError(t, json.Unmarshal(r.Body, &p))
		for _, l := range p.Links {
			assert.True(t, strings.HasPrefix(l, e.gateway+"/"), "link %q does not name the gateway", l)
		}
		want := len(patients) * observationsPerPatient
		if patientContext {
			want = observationsPerPatient
		}
		assert.Len(t, p.IDs, want, "Observations over %d pages: %v", p.Pages, p.IDs)
		assert.Equal(t, (want+1)/2, p.Pages, "pages of 2")
	default:
		assert.True(t, r.OK, "%s: %d %s", name, r.Status, r.Body)
	}
}
