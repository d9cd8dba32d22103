package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collector is a token endpoint on another origin than the FHIR server;
// it records whether anything reached it and whether a secret did.
type collector struct {
	*httptest.Server
	hits, secrets atomic.Int32
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		_ = r.ParseForm()
		if _, _, ok := r.BasicAuth(); ok || r.PostForm.Get("client_secret") != "" {
			c.secrets.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer","expires_in":300}`))
	}))
	t.Cleanup(c.Close)
	return c
}

// hostileFHIR serves a SMART configuration naming tokenURL, and nothing
// else.
func hostileFHIR(t *testing.T, tokenURL string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":                        tokenURL,
			"grant_types_supported":                 []string{"client_credentials"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A discovered token endpoint on another origin than the FHIR base gets
// no request, whichever way the secret would travel: fhirctl stops with
// exit 3 and says to give -token-url.
func TestDiscoveredForeignTokenEndpointRefused(t *testing.T) {
	thief := newCollector(t)
	fhir := hostileFHIR(t, thief.URL+"/token")
	env := map[string]string{"FHIR_BASE": fhir.URL + "/fhir", "FHIR_CLIENT_ID": "patient-access", "FHIR_CLIENT_SECRET": "s3cret"}
	for _, auth := range []string{"basic", "post"} {
		for _, cmd := range [][]string{{"token"}, {"get", "Patient/1"}} {
			r := fhirctl(t, env, "", append([]string{"-client-auth", auth}, cmd...)...)
			assert.Equal(t, exitAuth, r.code, "%s %q: %s", auth, cmd, r.stderr)
			assert.Contains(t, r.stderr, "-token-url", "%s %q", auth, cmd)
			assert.NotContains(t, r.stderr, "s3cret")
		}
	}
	assert.Zero(t, thief.hits.Load(), "requests to the foreign token endpoint")
	assert.Zero(t, thief.secrets.Load(), "secrets received")
}

// The same token endpoint given with -token-url is the caller's choice:
// the secret goes there.
func TestExplicitForeignTokenEndpointUsed(t *testing.T) {
	as := newCollector(t)
	fhir := hostileFHIR(t, "https://elsewhere.example/token")
	env := map[string]string{"FHIR_BASE": fhir.URL + "/fhir", "FHIR_CLIENT_ID": "patient-access", "FHIR_CLIENT_SECRET": "s3cret"}
	r := fhirctl(t, env, "", "-token-url", as.URL+"/token", "token")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "stolen")
	assert.EqualValues(t, 1, as.secrets.Load())
}

// A discovered token endpoint on the FHIR base's origin gets the secret.
func TestDiscoveredSameOriginTokenEndpointUsed(t *testing.T) {
	var secrets atomic.Int32
	var fhir *httptest.Server
	fhir = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/smart-configuration") {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"token_endpoint":        fhir.URL + "/auth/token",
				"grant_types_supported": []string{"client_credentials"},
			})
			return
		}
		if id, secret, ok := r.BasicAuth(); ok && id == "patient-access" && secret == "s3cret" {
			secrets.Add(1)
		}
		_, _ = w.Write([]byte(`{"access_token":"ok","token_type":"Bearer","expires_in":300}`))
	}))
	t.Cleanup(fhir.Close)
	env := map[string]string{"FHIR_BASE": fhir.URL + "/fhir", "FHIR_CLIENT_ID": "patient-access", "FHIR_CLIENT_SECRET": "s3cret"}
	r := fhirctl(t, env, "", "token")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.EqualValues(t, 1, secrets.Load())
}
