package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportClients are the -clients file of the export tests.
const exportClients = `[
 {"client_id":"bulk","client_secret":"s3cret","scope":"system/*.rs"},
 {"client_id":"bulk2","client_secret":"s3cret","scope":"system/*.rs"},
 {"client_id":"obs","client_secret":"s3cret","scope":"system/Observation.rs system/Patient.rs"},
 {"client_id":"user","client_secret":"s3cret","scope":"user/*.rs"}
]`

// kickOff starts an export and returns the reply.
func (a *attackServer) kickOff(t *testing.T, path, tok string) reply {
	t.Helper()
	return call(t, http.MethodGet, a.s.BaseURL()+path, tok, nil, "Prefer", "respond-async", "Accept", "application/fhir+json")
}

// waitManifest polls a status URL, checking the in-progress answers,
// until the manifest comes; it returns the manifest and how many 202s
// were seen.
func waitManifest(t *testing.T, statusURL, tok string) (reply, int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for progress := 0; time.Now().Before(deadline); progress++ {
		r := call(t, http.MethodGet, statusURL, tok, nil)
		if r.status != http.StatusAccepted {
			return r, progress
		}
		assert.NotEmpty(t, r.header.Get("X-Progress"))
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the export did not finish in 20s")
	return reply{}, 0
}

// TestExportFlow runs the whole asynchronous flow: kick-off, progress,
// manifest, downloads with the same client's token.
func TestExportFlow(t *testing.T) {
	a := startAttack(t, exportClients)
	tok := a.token(t, "bulk", "")
	r := a.kickOff(t, "/$export", tok)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	statusURL := r.header.Get("Content-Location")
	require.True(t, strings.HasPrefix(statusURL, a.s.URL()+"/bulk/"), statusURL)

	m, progress := waitManifest(t, statusURL, tok)
	require.Equal(t, http.StatusOK, m.status, string(m.body))
	assert.Positive(t, progress, "the job was seen in progress")
	var man struct {
		TransactionTime     time.Time `json:"transactionTime"`
		Request             string    `json:"request"`
		RequiresAccessToken bool      `json:"requiresAccessToken"`
		Output              []struct {
			Type  string `json:"type"`
			URL   string `json:"url"`
			Count int    `json:"count"`
		} `json:"output"`
		Error []any `json:"error"`
	}
	require.NoError(t, json.Unmarshal(m.body, &man))
	assert.True(t, man.RequiresAccessToken)
	assert.Equal(t, a.s.BaseURL()+"/$export", man.Request)
	assert.WithinDuration(t, time.Now(), man.TransactionTime, time.Minute)
	assert.NotNil(t, man.Error)
	types := map[string]int{}
	for _, o := range man.Output {
		f := call(t, http.MethodGet, o.URL, tok, nil, "Accept", "application/fhir+ndjson")
		require.Equal(t, http.StatusOK, f.status, o.URL)
		assert.Equal(t, "application/fhir+ndjson", f.header.Get("Content-Type"))
		lines := 0
		sc := bufio.NewScanner(bytes.NewReader(f.body))
		for sc.Scan() {
			var res map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &res))
			assert.Equal(t, o.Type, res["resourceType"])
			lines++
		}
		assert.Equal(t, o.Count, lines, o.Type)
		types[o.Type] = o.Count
	}
	assert.Equal(t, 6, types["Observation"], "every patient's Observations: system/ scopes are not narrowed")
	assert.Positive(t, types["Patient"])

	// The status and files answer only the client that started the job.
	other := a.token(t, "bulk2", "")
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, statusURL, other, nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, man.Output[0].URL, other, nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodDelete, statusURL, other, nil).status)
	noTok := call(t, http.MethodGet, man.Output[0].URL, "", nil)
	assert.Equal(t, http.StatusUnauthorized, noTok.status)
	assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, man.Output[0].URL, tok+"x", nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, statusURL+"/Nothing.ndjson", tok, nil).status)
}

// TestExportCancel: DELETE on the status URL cancels the job; its
// status is then gone.
func TestExportCancel(t *testing.T) {
	a := startAttack(t, exportClients)
	tok := a.token(t, "bulk", "")
	r := a.kickOff(t, "/Patient/$export", tok)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	statusURL := r.header.Get("Content-Location")
	assert.Equal(t, http.StatusAccepted, call(t, http.MethodDelete, statusURL, tok, nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, statusURL, tok, nil).status)
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodDelete, statusURL, tok, nil).status)
}

// TestExportAuthorization: only system/ scopes export, and only the
// types they may read.
func TestExportAuthorization(t *testing.T) {
	a := startAttack(t, exportClients)
	user := a.token(t, "user", "")
	r := a.kickOff(t, "/$export", user)
	assert.Equal(t, http.StatusForbidden, r.status, "user/ scopes do not export: %s", r.body)

	obs := a.token(t, "obs", "")
	assert.Equal(t, http.StatusForbidden, a.kickOff(t, "/$export", obs).status, "no _type: every type")
	assert.Equal(t, http.StatusForbidden, a.kickOff(t, "/$export?_type=Condition", obs).status)
	assert.Equal(t, http.StatusForbidden, a.kickOff(t, "/$export?_type=Observation,Condition", obs).status)
	r = a.kickOff(t, "/$export?_type=Observation,Patient", obs)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	m, _ := waitManifest(t, r.header.Get("Content-Location"), obs)
	require.Equal(t, http.StatusOK, m.status)
	for _, o := range m.doc["output"].([]any) {
		assert.Contains(t, []string{"Observation", "Patient"}, o.(map[string]any)["type"])
	}
}

// TestExportParameters: _since, bad parameters and missing Prefer.
func TestExportParameters(t *testing.T) {
	a := startAttack(t, exportClients)
	tok := a.token(t, "bulk", "")
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := a.kickOff(t, "/$export?_type=Observation&_since="+future, tok)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	m, _ := waitManifest(t, r.header.Get("Content-Location"), tok)
	assert.Empty(t, m.doc["output"], "nothing changed after _since")

	for query, want := range map[string]string{
		"?_since=yesterday":             "_since",
		"?_outputFormat=text/csv":       "_outputFormat",
		"?_typeFilter=Observation%3Fx":  "_typeFilter is not supported",
		"?_type=Observation&_type=Nope": "",
	} {
		r := a.kickOff(t, "/$export"+query, tok)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", query, r.body)
		assert.Contains(t, string(r.body), want, query)
	}
	r = call(t, http.MethodGet, a.s.BaseURL()+"/$export", tok, nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, string(r.body), "Prefer: respond-async")
	assert.Equal(t, http.StatusNotFound, a.kickOff(t, "/Group/no-such-group/$export", tok).status)
}
