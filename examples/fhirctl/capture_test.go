package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCaptureKeepsOversizeVisible: a token response over the size limit
// reaches the token source over the limit, which refuses it as too
// large; cut to the limit by the capture it read as broken JSON.
func TestCaptureKeepsOversizeVisible(t *testing.T) {
	pad := strings.Repeat("x", maxCapturedToken)
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","pad":"` + pad + `"}`))
	}))
	t.Cleanup(as.Close)
	env := map[string]string{"FHIR_BASE": "http://127.0.0.1:1/fhir", "FHIR_CLIENT_ID": "app", "FHIR_CLIENT_SECRET": "s3cret"}
	r := fhirctl(t, env, "", "-token-url", as.URL+"/token", "token")
	assert.Equal(t, exitAuth, r.code, r.stderr)
	assert.Contains(t, r.stderr, "response too large", r.stderr)
}
