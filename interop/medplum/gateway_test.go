package medplum

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contextPatient is the patient of the patient-context token.
const contextPatient = "p1"

// TestGatewayInFrontOfMedplum runs the case table (cases_test.go) against
// medplum directly and through the gateway with a patient-context and a
// system token, then follows paging links, drives fhir-kit-client, looks
// for existence oracles and tries to change other patients' records.
func TestGatewayInFrontOfMedplum(t *testing.T) {
	requirePeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := startEnv(t)
	seed(ctx, t, e)
	patientToken := e.token("patient/*.rs", contextPatient)
	systemToken := e.token("system/*.rs", "")

	counts := map[string]int{}
	v1 := firstVersion(ctx, t, e)
	for _, c := range cases(v1) {
		t.Run(c.category+"/"+c.name(), func(t *testing.T) {
			counts[c.category]++
			runCase(ctx, t, e, c, patientToken, systemToken)
		})
	}
	t.Run("paging/follow next links", func(t *testing.T) {
		counts["paging (followed)"] += followPages(ctx, t, e, patientToken, systemToken)
	})
	t.Run("fhir-kit-client", func(t *testing.T) {
		counts["fhir-kit-client"] += runFhirKitClient(ctx, t, e, patientToken, systemToken)
	})
	t.Run("oracle", func(t *testing.T) {
		counts["existence oracle"] += existenceOracles(ctx, t, e, patientToken, v1)
	})
	t.Run("entry urls", func(t *testing.T) {
		counts["entry url"] += entryURLs(ctx, t, e, patientToken)
	})
	t.Run("entry url question marks", func(t *testing.T) {
		counts["entry url"] += entryURLQuestionMarks(ctx, t, e)
	})
	t.Run("entry url controls", func(t *testing.T) {
		counts["entry url"] += entryURLControls(ctx, t, e, patientToken)
	})
	t.Run("misshapen references", func(t *testing.T) {
		counts["misshapen reference"] += misshapenReferences(ctx, t, e)
	})
	t.Run("fragment in the query", func(t *testing.T) {
		counts["fragment in the query"] += fragmentQueries(ctx, t, e)
	})
	t.Run("id case", func(t *testing.T) {
		counts["case-variant id"] += caseVariantIDs(ctx, t, e, patientToken)
	})
	t.Run("server writes", func(t *testing.T) {
		counts["subscription and definition write"] += serverWrites(ctx, t, e)
	})
	// Last: the own update changes the upstream.
	t.Run("write", func(t *testing.T) {
		counts["write"] += writes(ctx, t, e)
	})
	total := 0
	for _, n := range counts {
		total += n
	}
	t.Logf("cases per category (each case: upstream direct, patient token, system token): %v; total %d", counts, total)
}

// firstVersion is the version id of obs-p2-1's first version.
func firstVersion(ctx context.Context, t *testing.T, e *env) string {
	t.Helper()
	status, body := send(ctx, t, http.MethodGet, e.upstream, "Observation/obs-p2-1/_history", "", "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	versions := keys(t, body)
	require.Len(t, versions, 2, "obs-p2-1 has two versions: %s", body)
	var bundle struct {
		Entry []struct {
			Resource struct {
				Status string `json:"status"`
				Meta   struct {
					VersionID string `json:"versionId"`
				} `json:"meta"`
			} `json:"resource"`
		} `json:"entry"`
	}
	require.NoError(t, json.Unmarshal(body, &bundle))
	for _, en := range bundle.Entry {
		if en.Resource.Status == "final" {
			return en.Resource.Meta.VersionID
		}
	}
	t.Fatalf("no first version of obs-p2-1 in %s", body)
	return ""
}

// runCase sends one request three ways and checks the results.
func runCase(ctx context.Context, t *testing.T, e *env, c request, patientToken, systemToken string) {
	upTarget := strings.TrimPrefix(c.target, "/")
	upStatus, upBody := send(ctx, t, c.method, e.upstream, upTarget, "", c.body)
	upKeys := keys(t, upBody)
	_, _, countLeak := totalOver(c, upBody)
	upLeaks := len(foreign(t, upBody)) > 0 || countLeak
	require.Equal(t, c.leaks, upLeaks, "the upstream's own answer must leak exactly for the cases marked as leaking (other patients' resources, or a total counting them): %d %s", upStatus, upBody)

	status, body := send(ctx, t, c.method, e.gateway, c.target, patientToken, c.body)
	// The leak check first: it holds whatever the status.
	for _, p := range patients[1:] {
		require.NotContains(t, string(body), marker(p), "LEAK: %s %s with a patient/*.rs token for %s returned %s's data (status %d): %s",
			c.method, c.target, contextPatient, p, status, body)
	}
	require.Empty(t, foreign(t, body), "LEAK: %s %s (status %d): %s", c.method, c.target, status, body)
	got := keys(t, body)
	allowed := allowedKeys(t, upBody)
	switch c.patient {
	case exact:
		assert.Equal(t, allowed, got, "patient token: the upstream's result minus other patients' (status %d): %s", status, body)
	case noneAllowed:
		assert.Empty(t, got, "patient token: nothing may be returned (status %d): %s", status, body)
	case subset:
		for _, k := range got {
			assert.Contains(t, allowed, k, "patient token: a resource the upstream does not return for this request (status %d): %s", status, body)
		}
	case ownPages:
	}
	total, visible, over := totalOver(c, body)
	if over {
		t.Errorf("LEAK: %s %s: total %d counts more than the %d resources the patient may see", c.method, c.target, total, visible)
	}
	upTotal, _, _ := totalOver(c, upBody)
	t.Logf("upstream %d (%d resources, %d of other patients, total %d); patient token %d (%d resources, total %d)",
		upStatus, len(upKeys), len(foreign(t, upBody)), upTotal, status, len(got), total)

	sysStatus, sysBody := send(ctx, t, c.method, e.gateway, c.target, systemToken, c.body)
	assert.Equal(t, upStatus, sysStatus, "system token: status differs from the upstream's; body: %s", sysBody)
	assert.Equal(t, upKeys, keys(t, sysBody), "system token: resources differ from the upstream's")
	assertSameDocument(t, e, upBody, sysBody)
}

// totalOver reports whether a search Bundle's total counts more resources
// than the context patient may see of the searched type: such a total
// leaks how many other patients' resources there are.
func totalOver(c request, body []byte) (total, visible int, over bool) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Total        *int   `json:"total"`
	}
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total == nil {
		return 0, 0, false
	}
	searched, _, _ := strings.Cut(c.target, "?")
	for _, r := range seedResources() {
		if p := owner(r); r["resourceType"] == searched && (p == "" || p == contextPatient) {
			visible++
		}
	}
	return *b.Total, visible, *b.Total > visible
}

// foreign returns the keys of resources of patients other than the
// context patient in body.
func foreign(t *testing.T, body []byte) []string {
	var out []string
	for _, r := range resourcesIn(t, body) {
		if p := owner(r); p != "" && p != contextPatient {
			out = append(out, key(r))
		}
	}
	return out
}

// allowedKeys are the keys of body's resources the context patient may see.
func allowedKeys(t *testing.T, body []byte) []string {
	var out []string
	for _, r := range resourcesIn(t, body) {
		if p := owner(r); r["resourceType"] != "OperationOutcome" && (p == "" || p == contextPatient) {
			out = append(out, key(r))
		}
	}
	return sorted(out)
}

// assertSameDocument checks that the gateway's response to a system token
// is the upstream's JSON document with the upstream's base URL replaced by
// the gateway's, and nothing else changed but Bundle.total: a Bundle the
// gateway checks entry by entry (searches with _include or _revinclude)
// loses its total, which could count removed entries (fhirauth.FilterBundle).
func assertSameDocument(t *testing.T, e *env, upstream, gateway []byte) {
	t.Helper()
	var want, got any
	if json.Unmarshal([]byte(strings.ReplaceAll(string(upstream), e.upstream, e.gateway)), &want) != nil {
		return
	}
	if !assert.NoError(t, json.Unmarshal(gateway, &got), "system token: not JSON: %s", gateway) {
		return
	}
	dropTotals(want, got)
	assert.Equal(t, want, got, "system token: the document differs from the upstream's (base URL rewritten)")
}

// dropTotals removes Bundle.total from want wherever got, at the same
// place, has none.
func dropTotals(want, got any) {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		if _, ok := g["total"]; !ok && w["resourceType"] == "Bundle" {
			delete(w, "total")
		}
		for k, v := range w {
			dropTotals(v, g[k])
		}
	case []any:
		g, _ := got.([]any)
		for i, v := range w {
			if i < len(g) {
				dropTotals(v, g[i])
			}
		}
	}
}

// followPages follows next links from the first page of an Observation
// search at _count=2: upstream directly it reaches every patient's
// Observations; through the gateway, with the patient token only the
// context patient's, and every link names the gateway; with the system
// token the same resources as upstream. It returns the requests made.
func followPages(ctx context.Context, t *testing.T, e *env, patientToken, systemToken string) int {
	const first = "Observation?_count=2"
	up, n1 := walk(ctx, t, e.upstream, first, "", false)
	assert.Len(t, up, len(patients)*observationsPerPatient, "upstream: every Observation over its pages")
	mine, n2 := walk(ctx, t, e.gateway, first, patientToken, true)
	var want []string
	for i := 1; i <= observationsPerPatient; i++ {
		want = append(want, "Observation/obs-p1-"+string(rune('0'+i)))
	}
	assert.Equal(t, want, stripVersions(mine), "patient token: the patient's Observations over the gateway's pages")
	all, n3 := walk(ctx, t, e.gateway, first, systemToken, false)
	assert.Equal(t, up, all, "system token: the upstream's Observations over the gateway's pages")
	return n1 + n2 + n3
}

// walk follows next links from target, checking that every link starts
// with base and, when onlyOwn, that no page holds another patient's data;
// it returns the resources met, sorted, and the number of pages.
func walk(ctx context.Context, t *testing.T, base, target, token string, onlyOwn bool) ([]string, int) {
	t.Helper()
	var met []string
	pages := 0
	for target != "" && pages < 20 {
		status, body := send(ctx, t, http.MethodGet, base, target, token, "")
		require.Equal(t, http.StatusOK, status, "%s: %s", target, body)
		pages++
		if onlyOwn {
			require.Empty(t, foreign(t, body), "LEAK on page %d (%s): %s", pages, target, body)
			for _, p := range patients[1:] {
				require.NotContains(t, string(body), marker(p), "LEAK on page %d (%s)", pages, target)
			}
		}
		met = append(met, keys(t, body)...)
		var b struct {
			Link []struct {
				Relation string `json:"relation"`
				URL      string `json:"url"`
			} `json:"link"`
		}
		require.NoError(t, json.Unmarshal(body, &b))
		target = ""
		for _, l := range b.Link {
			require.True(t, strings.HasPrefix(l.URL, base+"/"), "link %s %q does not name %s", l.Relation, l.URL, base)
			if l.Relation == "next" {
				target = l.URL
			}
		}
	}
	return sorted(slices.Compact(sorted(met))), pages
}

func stripVersions(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i], _, _ = strings.Cut(k, "@")
	}
	return out
}
