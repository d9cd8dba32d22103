package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertNotStored checks that an answer may not be kept by any cache
// (RFC 9111 section 5.2.2.5) nor read as another content type than the
// one it declares.
func assertNotStored(t *testing.T, r reply, what string) {
	t.Helper()
	assert.Contains(t, r.header.Values("Cache-Control"), "no-store", "%s: %d %v", what, r.status, r.header)
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"), "%s", what)
}

// TestCareConnectAttackAuthorizedAnswersAreNotStored: an answer to a
// token holds one patient's record, and its URL does not say whose it
// is. Without Cache-Control it carries Last-Modified, which lets a browser
// (the scopes page's, or any app's) keep it on disk under heuristic
// freshness and serve it later to whoever uses that profile; the bulk
// files are whole exports. Every answer behind a token is no-store.
func TestCareConnectAttackAuthorizedAnswersAreNotStored(t *testing.T) {
	a := startAttack(t, attackClients)
	tok := a.token(t, "pw", "")
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/Patient/1", ""},
		{http.MethodGet, "/Patient/1/_history/1", ""},
		{http.MethodGet, "/Observation?patient=1", ""},
		{http.MethodGet, "/Patient/1/$everything", ""},
		{http.MethodPost, "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"}}`},
	} {
		ct := ""
		if c.body != "" {
			ct = "application/fhir+json"
		}
		r := a.do(t, c.method, c.path, tok, ct, c.body)
		require.Less(t, r.status, 300, "%s %s: %s", c.method, c.path, r.body)
		assertNotStored(t, r, c.method+" "+c.path)
	}
	// The public discovery document keeps the caching it asks for.
	smart := a.do(t, http.MethodGet, "/.well-known/smart-configuration", "", "", "")
	require.Equal(t, http.StatusOK, smart.status)
	assert.Equal(t, "public, max-age=3600", smart.header.Get("Cache-Control"))

	b := startAttack(t, exportClients)
	bulk := b.token(t, "bulk", "")
	k := b.kickOff(t, "/Patient/$export?_type=Patient", bulk)
	require.Equal(t, http.StatusAccepted, k.status, string(k.body))
	m, _ := waitManifest(t, k.header.Get("Content-Location"), bulk)
	require.Equal(t, http.StatusOK, m.status, string(m.body))
	assertNotStored(t, m, "export manifest")
	var man struct {
		Output []struct{ URL string } `json:"output"`
	}
	require.NoError(t, json.Unmarshal(m.body, &man))
	require.NotEmpty(t, man.Output)
	f := call(t, http.MethodGet, man.Output[0].URL, bulk, nil, "Accept", "application/fhir+ndjson")
	require.Equal(t, http.StatusOK, f.status, string(f.body))
	require.True(t, strings.Contains(string(f.body), `"resourceType"`))
	assertNotStored(t, f, "export file")
}
