package fhirauth

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPatchChangingIdentityRefused: a patch that changes a resource's id
// or resourceType makes a server that applies it literally (medplum
// stores the patched resource under its new type and id) write another
// resource than the one authorized: a Condition for a token without any
// Condition scope, or an Observation outside the token's constraints
// that the stored-version check never saw. Every token's patch of id or
// resourceType is refused, whatever its scopes, alone and in Bundles.
func TestPatchChangingIdentityRefused(t *testing.T) {
	p := testPolicy(t)
	patches := map[string]string{
		"JSON Patch resourceType": `[{"op":"replace","path":"/resourceType","value":"Condition"}]`,
		"JSON Patch id":           `[{"op":"replace","path":"/id","value":"2"}]`,
		"JSON Patch move to id":   `[{"op":"move","from":"/status","path":"/id"}]`,
		"JSON Patch case variant": `[{"op":"replace","path":"/ID","value":"2"}]`,
		"FHIRPath Patch id": `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[` +
			`{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Observation.id"},{"name":"value","valueId":"2"}]}]}`,
	}
	for _, scopes := range []string{"user/Observation.rus?category=laboratory", "user/Observation.rus", "system/*.*"} {
		for name, patch := range patches {
			t.Run(scopes+"/"+name, func(t *testing.T) {
				_, d := authorize(t, p, principal(t, scopes, ""), http.MethodPatch, "/fhir/Observation/1", patch, nil)
				if assert.False(t, d.Allowed, "PATCH %s under %s: %s", patch, scopes, d.Reason) {
					assert.Equal(t, http.StatusForbidden, d.Status)
				}
			})
		}
		t.Run(scopes+"/Bundle entries", func(t *testing.T) {
			binary := `{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` +
				base64.StdEncoding.EncodeToString([]byte(patches["JSON Patch resourceType"])) + `"}`
			pr := principal(t, scopes, "")
			_, d := authorize(t, p, pr, http.MethodPost, "/fhir", bundle("transaction", entry("PATCH", "Observation/1", binary)), nil)
			assert.False(t, d.Allowed, "a transaction entry patching resourceType: %s", d.Reason)
			_, d = authorize(t, p, pr, http.MethodPost, "/fhir", bundle("batch", entry("PATCH", "Observation/1", binary)), nil)
			if assert.Len(t, d.Entries, 1) {
				assert.False(t, d.Entries[0].Allowed, "a batch entry patching resourceType: %s", d.Entries[0].Reason)
			}
		})
	}
	_, d := authorize(t, p, principal(t, "user/Observation.rus", ""), http.MethodPatch, "/fhir/Observation/1",
		`[{"op":"replace","path":"/status","value":"amended"},{"op":"add","path":"/identifier","value":[{"value":"x"}]}]`, nil)
	assert.True(t, d.Allowed, "a patch of other elements goes through: %s", d.Reason)
	// An XML patch could change id or resourceType unseen: it cannot be
	// read here, so no token may send one.
	_, d = authorize(t, p, principal(t, "system/*.*", ""), http.MethodPatch, "/fhir/Observation/1",
		`<diff><replace sel="Observation/id/@value">2</replace></diff>`, map[string]string{"Content-Type": "application/xml-patch+xml"})
	if assert.False(t, d.Allowed, "an XML patch under system/*.*") {
		assert.Equal(t, http.StatusBadRequest, d.Status)
		assert.Contains(t, d.Reason, "only JSON Patch and FHIRPath Patch")
	}
}
