package fhirauth

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// definitionBody is a resource of type t: for SearchParameter, one that
// redefines Observation's category as a search on code.
func definitionBody(t, id string) string {
	idPart := ""
	if id != "" {
		idPart = `"id":"` + id + `",`
	}
	switch t {
	case "SearchParameter":
		return `{"resourceType":"SearchParameter",` + idPart + `"url":"http://x.example/sp","name":"category","status":"active","description":"x","code":"category","base":["Observation"],"type":"token","expression":"Observation.code"}`
	case "CompartmentDefinition":
		return `{"resourceType":"CompartmentDefinition",` + idPart + `"url":"http://x.example/cd","name":"patient","status":"active","code":"Patient","search":true,"resource":[{"code":"Observation"}]}`
	}
	return `{"resourceType":"OperationDefinition",` + idPart + `"url":"http://x.example/od","name":"lastn","status":"active","kind":"operation","code":"lastn","system":false,"type":true,"instance":false}`
}

// definitionWrites are the ways to write a resource of type t, with the
// letters of the system/ scope each needs.
func definitionWrites(t string) []struct{ name, method, target, body, ifNoneExist, letters string } {
	return []struct{ name, method, target, body, ifNoneExist, letters string }{
		{"create", "POST", "/fhir/" + t, definitionBody(t, ""), "", "c"},
		{"conditional create", "POST", "/fhir/" + t, definitionBody(t, ""), "url=http://x.example/d", "cs"},
		{"update", "PUT", "/fhir/" + t + "/d1", definitionBody(t, "d1"), "", "u"},
		{"conditional update", "PUT", "/fhir/" + t + "?url=http://x.example/d", definitionBody(t, ""), "", "us"},
		{"patch", "PATCH", "/fhir/" + t + "/d1", `[{"op":"replace","path":"/status","value":"retired"}]`, "", "ru"},
		{"conditional patch", "PATCH", "/fhir/" + t + "?url=http://x.example/d", `[{"op":"replace","path":"/status","value":"retired"}]`, "", "rus"},
		{"delete", "DELETE", "/fhir/" + t + "/d1", "", "", "d"},
		{"conditional delete", "DELETE", "/fhir/" + t + "?url=http://x.example/d", "", "", "ds"},
	}
}

// TestDefinitionWrites: a write of a resource that changes the server for
// every user needs a system/ scope naming its type, unconstrained; user/,
// patient/ and "*" scopes, which grant it otherwise, do not count.
func TestDefinitionWrites(t *testing.T) {
	p := testPolicy(t)
	for _, typ := range []string{"SearchParameter", "CompartmentDefinition", "OperationDefinition"} {
		for _, w := range definitionWrites(typ) {
			t.Run(typ+"/"+w.name, func(t *testing.T) {
				var h map[string]string
				if w.ifNoneExist != "" {
					h = map[string]string{"If-None-Exist": w.ifNoneExist}
				}
				want := "system/" + typ + "." + w.letters
				for _, tc := range []struct {
					scopes, patient string
					allowed         bool
				}{
					{"user/*.cruds", "", false},
					{"system/*.cruds", "", false},
					{"patient/*.cruds", "123", false},
					{"user/" + typ + ".cruds", "", false},
					{"user/" + typ + ".cruds system/*.cruds", "", false},
					{"system/" + typ + ".cruds?url=http://x.example/d", "", false},
					{"system/" + typ + ".cruds?status=active system/*.cruds", "", false},
					{"system/" + typ + ".cruds", "", true},
					{want, "", true},
					{"system/" + typ + ".rs system/*.cruds", "", false},
				} {
					_, d := authorize(t, p, principal(t, tc.scopes, tc.patient), w.method, w.target, w.body, h)
					require.Equal(t, tc.allowed, d.Allowed, "%s: %s", tc.scopes, d.Reason)
					if tc.allowed {
						continue
					}
					assert.Equal(t, http.StatusForbidden, d.Status, "%s: %s", tc.scopes, d.Reason)
					assert.Equal(t, want, d.Needed, "%s", tc.scopes)
					assert.Contains(t, d.Reason, want, "%s", tc.scopes)
				}
			})
		}
	}
}

// TestDefinitionUpdateCreates: an update that creates its target is a
// create, which needs "c" of a scope naming the type too; "*" does not
// count, so without it the stored-version check refuses a missing
// target.
func TestDefinitionUpdateCreates(t *testing.T) {
	p := testPolicy(t)
	body := definitionBody("SearchParameter", "d1")
	for _, tc := range []struct {
		scopes       string
		createsFresh bool
	}{
		{"system/SearchParameter.u system/*.c", false},
		{"system/SearchParameter.u", false},
		{"system/SearchParameter.cu", true},
		{"system/SearchParameter.u system/SearchParameter.c", true},
	} {
		_, d := authorize(t, p, principal(t, tc.scopes, ""), "PUT", "/fhir/SearchParameter/d1", body, nil)
		require.True(t, d.Allowed, "%s: %s", tc.scopes, d.Reason)
		err := d.CheckStored(nil)
		assert.Equal(t, tc.createsFresh, err == nil, "%s: %v", tc.scopes, err)
		assert.NoError(t, d.CheckStored([]byte(body)), tc.scopes)
	}
}

// TestDefinitionReads: reads and searches of these types are decided as
// before.
func TestDefinitionReads(t *testing.T) {
	p := testPolicy(t)
	pr := principal(t, "user/*.rs", "")
	for _, target := range []string{"/fhir/SearchParameter/d1", "/fhir/SearchParameter?base=Observation", "/fhir/CompartmentDefinition?code=Patient", "/fhir/OperationDefinition/d1/_history"} {
		_, d := authorize(t, p, pr, "GET", target, "", nil)
		assert.True(t, d.Allowed, "%s: %s", target, d.Reason)
	}
}

// TestDefinitionBundle: Bundle entries are decided as top-level writes.
func TestDefinitionBundle(t *testing.T) {
	p := testPolicy(t)
	sp := definitionBody("SearchParameter", "")
	b := bundle("batch",
		entry("POST", "SearchParameter", sp),
		entry("PUT", "CompartmentDefinition/d1", definitionBody("CompartmentDefinition", "d1")),
		entry("DELETE", "OperationDefinition/d1", ""),
		entry("DELETE", "SearchParameter?code=category", ""),
		entry("GET", "SearchParameter?base=Observation", ""),
	)
	_, d := authorize(t, p, principal(t, "user/*.cruds", ""), "POST", "/fhir", b, nil)
	require.True(t, d.Allowed, d.Reason)
	for i, want := range []bool{false, false, false, false, true} {
		assert.Equal(t, want, d.Entries[i].Allowed, "entry %d: %s", i, d.Entries[i].Reason)
	}
	assert.Contains(t, d.Entries[0].Reason, "system/SearchParameter.c")

	tx := strings.Replace(b, `"batch"`, `"transaction"`, 1)
	_, d = authorize(t, p, principal(t, "system/*.cruds", ""), "POST", "/fhir", tx, nil)
	require.False(t, d.Allowed)
	assert.Equal(t, "system/SearchParameter.c", d.Needed)

	_, d = authorize(t, p, principal(t, "system/SearchParameter.cruds system/CompartmentDefinition.cu system/OperationDefinition.d system/*.rs", ""), "POST", "/fhir", tx, nil)
	require.True(t, d.Allowed, d.Reason)
}

// TestDefinitionExplain: Explain agrees.
func TestDefinitionExplain(t *testing.T) {
	p := testPolicy(t)
	s := p.Explain(context.Background(), principal(t, "user/*.cruds system/SearchParameter.cud", "")).String()
	assert.Contains(t, s, "create, update and delete every resource type except CompartmentDefinition, OperationDefinition and SearchParameter")
	assert.Contains(t, s, "create, update and delete SearchParameter")
}
