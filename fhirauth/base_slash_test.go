package fhirauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBaseWithTrailingSlash: "[base]/" is the base for the requests real
// clients send there (POST batch/transaction, GET system search and
// paging); every other empty or dot segment stays refused.
func TestBaseWithTrailingSlash(t *testing.T) {
	p := testPolicy(t)
	batch := bundle("batch", entry("GET", "Patient/123", ""))
	txn := bundle("transaction", entry("POST", "Observation", noID(obsOf123)))
	cases := []struct {
		name, method, url, body, scopes, patient string
		want                                     Interaction // 0: refused with 400
		allow                                    bool
	}{
		{name: "POST base/ batch", method: "POST", url: "/fhir/", body: batch, scopes: patientAll, patient: "123", want: Batch, allow: true},
		{name: "POST base/ transaction", method: "POST", url: "/fhir/", body: txn, scopes: patientAll, patient: "123", want: Transaction, allow: true},
		{name: "GET base/?_type", method: "GET", url: "/fhir/?_type=Observation", scopes: "user/*.rs", want: SearchSystem, allow: true},
		{name: "HEAD base/?_type", method: "HEAD", url: "/fhir/?_type=Observation", scopes: "user/*.rs", want: SearchSystem, allow: true},
		{name: "GET base/?_type patient scopes", method: "GET", url: "/fhir/?_type=Observation", scopes: patientAll, patient: "123", want: SearchSystem},
		{name: "GET base/?_getpages", method: "GET", url: "/fhir/?_getpages=abc", scopes: "user/*.rs", want: PageContinuation, allow: true},
		{name: "GET base/_search?_type", method: "GET", url: "/fhir/_search?_type=Observation", scopes: "user/*.rs", want: SearchSystem, allow: true},
		// Hostile: everything else around the base stays strict.
		{name: "GET base/_search/", method: "GET", url: "/fhir/_search/?_type=Observation", scopes: "user/*.*"},
		{name: "DELETE base/_search", method: "DELETE", url: "/fhir/_search?_type=Observation", scopes: "user/*.*"},
		{name: "POST base//", method: "POST", url: "/fhir//", body: batch, scopes: "user/*.*"},
		{name: "GET base//?_type", method: "GET", url: "/fhir//?_type=Observation", scopes: "user/*.*"},
		{name: "POST base/./", method: "POST", url: "/fhir/./", body: batch, scopes: "user/*.*"},
		{name: "POST base/.", method: "POST", url: "/fhir/.", body: batch, scopes: "user/*.*"},
		{name: "GET base/./?_type", method: "GET", url: "/fhir/./?_type=Observation", scopes: "user/*.*"},
		{name: "DELETE base/", method: "DELETE", url: "/fhir/", scopes: "user/*.*"},
		{name: "PUT base/", method: "PUT", url: "/fhir/", body: batch, scopes: "user/*.*"},
		{name: "PATCH base/", method: "PATCH", url: "/fhir/", body: batch, scopes: "user/*.*"},
		{name: "GET type/", method: "GET", url: "/fhir/Observation/", scopes: "user/*.*"},
		{name: "POST type/", method: "POST", url: "/fhir/Observation/", body: obsOf123, scopes: "user/*.*"},
		{name: "GET base/ prefix of another", method: "GET", url: "/fhirx/", scopes: "user/*.*"},
		{name: "GET //base/", method: "GET", url: "//fhir/", scopes: "user/*.*"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, d := authorize(t, p, principal(t, tc.scopes, tc.patient), tc.method, tc.url, tc.body, nil)
			require.NotNil(t, d)
			if tc.want == 0 {
				assert.False(t, d.Allowed)
				assert.Equal(t, http.StatusBadRequest, d.Status, d.Reason)
				return
			}
			require.NotNil(t, req, d.Reason)
			assert.Equal(t, tc.want, req.Interaction)
			assert.Equal(t, "", strings.TrimPrefix(req.Path, "_search"))
			assert.Equal(t, tc.allow, d.Allowed, "%d %s", d.Status, d.Reason)
			// The same request to the bare base decides the same.
			bare := "/fhir" + strings.TrimPrefix(tc.url[len("/fhir/"):], "_search")
			_, d2 := authorize(t, p, principal(t, tc.scopes, tc.patient), tc.method, bare, tc.body, nil)
			assert.Equal(t, d2.Allowed, d.Allowed)
			assert.Equal(t, d2.Status, d.Status)
		})
	}
}
