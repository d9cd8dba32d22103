package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// clientShape is one request shape a common FHIR client library sends
// (see the client table in doc.go).
type clientShape struct {
	name        string
	method      string
	path        string // relative to the gateway's base; "/" is "[base]/"
	header      map[string]string
	contentType string
	body        string
	scope       string
	patient     string
	status      int    // the gateway's answer
	upstream    string // the path and query the upstream must receive ("" when refused)
}

// TestGatewayClientShapes sends the request shapes of fhir-kit-client,
// fhir.js, SMART's client-js, HAPI's Java client and the Firely .NET SDK
// through the gateway: each reaches the upstream as the canonical FHIR
// request, leaks nothing of another patient, and the shapes no client
// sends ("[base]//", dot segments) stay refused.
func TestGatewayClientShapes(t *testing.T) {
	g := startGateway(t)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"request":{"method":"GET","url":"Observation/obs-p1-lab"}},` +
		`{"request":{"method":"GET","url":"Observation/obs-p2-lab"}},` +
		`{"request":{"method":"GET","url":"Observation?code=8867-4"}}]}`
	txn := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"POST","url":"Observation"},` +
		`"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}]}`
	const fhirJSON = "application/fhir+json"
	shapes := []clientShape{
		{name: "fhir-kit-client, client-js, Firely: batch to [base]/", method: "POST", path: "/", contentType: fhirJSON, body: batch,
			scope: "patient/*.rs", patient: naivefhir.Alice, status: 200, upstream: upstreamBase},
		{name: "fhir-kit-client, client-js, Firely: transaction to [base]/", method: "POST", path: "/", contentType: fhirJSON, body: txn,
			scope: "patient/*.cruds", patient: naivefhir.Alice, status: 200, upstream: upstreamBase},
		{name: "fhir.js, HAPI: transaction to [base]", method: "POST", path: "", contentType: "application/json", body: txn,
			scope: "patient/*.cruds", patient: naivefhir.Alice, status: 200, upstream: upstreamBase},
		{name: "all: GET type search", method: "GET", path: "Observation?code=8867-4", scope: "patient/*.rs", patient: naivefhir.Alice,
			status: 200, upstream: upstreamBase + "/Observation?code=8867-4&patient=Patient%2Fp1"},
		{name: "fhir-kit-client, Firely: POST type _search", method: "POST", path: "Observation/_search", contentType: "application/x-www-form-urlencoded",
			body: "code=8867-4", scope: "patient/*.rs", patient: naivefhir.Alice, status: 200, upstream: upstreamBase + "/Observation/_search?patient=Patient%2Fp1"},
		{name: "fhir-kit-client: compartment search", method: "GET", path: "Patient/p1/Observation", scope: "patient/*.rs", patient: naivefhir.Alice,
			status: 200, upstream: upstreamBase + "/Patient/p1/Observation"},
		{name: "fhir-kit-client, Firely, HAPI: conditional create", method: "POST", path: "Observation", contentType: fhirJSON,
			header: map[string]string{"If-None-Exist": "code=8867-4"},
			body:   `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`,
			scope:  "patient/*.cruds", patient: naivefhir.Alice, status: 201, upstream: upstreamBase + "/Observation"},
		{name: "client-js: GET [base]/?_type (system search)", method: "GET", path: "/?_type=Practitioner", scope: "user/*.rs",
			status: 400, upstream: upstreamBase + "?_type=Practitioner"}, // naivefhir has no system search: its own 400
		{name: "fhir-kit-client: GET [base]/_search?_type", method: "GET", path: "_search?_type=Practitioner", scope: "user/*.rs",
			status: 200, upstream: upstreamBase + "/_search?_type=Practitioner"},
		// No client sends these; they stay refused at the gateway.
		{name: "hostile: POST [base]//", method: "POST", path: "//", contentType: fhirJSON, body: batch, scope: "user/*.*", status: 400},
		{name: "hostile: POST [base]/./", method: "POST", path: "/./", contentType: fhirJSON, body: batch, scope: "user/*.*", status: 400},
		{name: "hostile: GET [base]//?_type", method: "GET", path: "//?_type=Patient", scope: "user/*.*", status: 400},
		{name: "hostile: DELETE [base]/", method: "DELETE", path: "/", scope: "user/*.*", status: 400},
		{name: "hostile: PUT [base]/", method: "PUT", path: "/", contentType: fhirJSON, body: batch, scope: "user/*.*", status: 400},
		{name: "hostile: GET Type/", method: "GET", path: "Observation/", scope: "user/*.*", status: 400},
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			before := len(g.fhir.Requests())
			res, body := g.send(t, s)
			assert.Equal(t, s.status, res.StatusCode, "body: %s", body)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "body: %s", body)
			reqs := g.fhir.Requests()
			if s.upstream == "" {
				assert.Len(t, reqs, before, "a refused request never reaches the upstream")
				return
			}
			require.Greater(t, len(reqs), before)
			got := reqs[len(reqs)-1].URL
			if s.method == "POST" && strings.HasSuffix(s.path, "_search") {
				// The form body carries the narrowing.
				form, err := url.ParseQuery(string(reqs[len(reqs)-1].Body))
				require.NoError(t, err)
				assert.Equal(t, []string{"Patient/p1"}, form["patient"])
			}
			if s.header["If-None-Exist"] != "" {
				assert.Contains(t, reqs[len(reqs)-1].Header.Get("If-None-Exist"), "patient=Patient%2Fp1", "conditional create narrowed")
			}
			assert.Equal(t, s.upstream, got)
		})
	}
	// The batch through "[base]/" answered Alice's entry and withheld Bob's.
	res, body := g.send(t, shapes[0])
	require.Equal(t, 200, res.StatusCode)
	var b struct {
		Entry []struct {
			Response struct{ Status string }
		}
	}
	require.NoError(t, json.Unmarshal(body, &b))
	require.Len(t, b.Entry, 3)
	assert.True(t, strings.HasPrefix(b.Entry[0].Response.Status, "200"), "%s", body)
	assert.True(t, strings.HasPrefix(b.Entry[1].Response.Status, "404") || strings.HasPrefix(b.Entry[1].Response.Status, "403"), "%s", body)
}

// send sends one client shape to the gateway.
func (g *gw) send(t *testing.T, s clientShape) (*http.Response, []byte) {
	t.Helper()
	u := g.url + s.path
	if s.path != "" && s.path[0] != '/' {
		u = g.url + "/" + s.path
	}
	req, err := http.NewRequest(s.method, u, strings.NewReader(s.body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+g.token(s.scope, s.patient))
	if s.contentType != "" {
		req.Header.Set("Content-Type", s.contentType)
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var buf strings.Builder
	_, err = io.Copy(&buf, res.Body)
	require.NoError(t, err)
	return res, []byte(buf.String())
}
