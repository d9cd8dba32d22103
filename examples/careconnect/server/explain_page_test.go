package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainEndpoint: GET /explain explains a verified token; without
// one, or with a bad one, it is 401.
func TestExplainEndpoint(t *testing.T) {
	r := start(t)
	s := r.srv
	tok := accessToken(t, s, "patient-app")
	res := call(t, http.MethodGet, s.URL()+"/explain", tok, nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	assert.Equal(t, "May read and search every resource type in Patient/1's compartment (64 types). May read and search Organization and Practitioner. May run $everything on Patient/1. Nothing else.", res.doc["text"])
	assert.Equal(t, "1", res.doc["explanation"].(map[string]any)["patient"])
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))

	assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, s.URL()+"/explain", "", nil).status)
	assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, s.URL()+"/explain", tok+"x", nil).status)
	assert.Equal(t, http.StatusMethodNotAllowed, call(t, http.MethodPost, s.URL()+"/explain", tok, nil).status)
}

// TestFavicon: the browser's favicon request gets an icon, not a 404.
func TestFavicon(t *testing.T) {
	r := start(t)
	res := call(t, http.MethodGet, r.srv.URL()+"/favicon.ico", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "image/svg+xml", res.header.Get("Content-Type"))
	assert.Contains(t, string(res.body), "<svg")
	page := call(t, http.MethodGet, r.srv.URL()+"/", "", nil)
	assert.Contains(t, string(page.body), `<link rel="icon" href="/favicon.ico"`)
	assert.Contains(t, string(page.body), `id="token-explanation"`)
}
