package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// elsewhere is another origin; it counts the requests reaching it.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer","token_endpoint":"` + "http://" + r.Host + `/token"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// A token endpoint redirecting to another origin gets nothing sent there.
func TestTokenRedirectNotFollowed(t *testing.T) {
	other, hits := elsewhere(t)
	as := httptest.NewServer(http.RedirectHandler(other.URL+"/token", http.StatusTemporaryRedirect))
	t.Cleanup(as.Close)
	env := map[string]string{"FHIR_BASE": "http://127.0.0.1:1/fhir", "FHIR_CLIENT_ID": "app", "FHIR_CLIENT_SECRET": "s3cret"}
	r := fhirctl(t, env, "", "-token-url", as.URL+"/token", "token")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "do not follow redirects")
	assert.Zero(t, hits.Load())
}

// SMART discovery follows redirects on the FHIR server's origin, never
// to another one.
func TestDiscoveryRedirects(t *testing.T) {
	f := newFixture(t)
	other, hits := elsewhere(t)
	var foreign atomic.Bool // redirect to the other origin, else to the same one
	inner := f.fhir.Config.Handler
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/fhir/.well-known/smart-configuration":
			inner.ServeHTTP(w, r)
		case foreign.Load():
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
		case r.URL.Query().Get("moved") == "":
			http.Redirect(w, r, r.URL.Path+"?moved=1", http.StatusFound)
		default:
			inner.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(front.Close)
	f.fhir.setTokenEndpoint(front.URL + "/token")
	env := map[string]string{"FHIR_BASE": front.URL + "/fhir", "FHIR_CLIENT_ID": "patient-access", "FHIR_CLIENT_SECRET": "s3cret"}

	r := fhirctl(t, env, "", "token")
	assert.Equal(t, exitOK, r.code, r.stderr)

	foreign.Store(true)
	r = fhirctl(t, env, "", "token")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.stderr, "another origin")
	assert.Zero(t, hits.Load())
}

// A FHIR server redirecting elsewhere, or in a loop, did answer: fhirctl
// says what was wrong with the answer and exits 1, not 6 (no answer),
// and sends nothing to the other origin.
func TestFHIRRedirectIsNoNetworkError(t *testing.T) {
	other, hits := elsewhere(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fhir/Patient/away" {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
			return
		}
		http.Redirect(w, r, r.URL.Path+"?again=1", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"FHIR_BASE": srv.URL + "/fhir", "FHIR_TOKEN": "at"}
	r := fhirctl(t, env, "", "get", "Patient/away")
	assert.Equal(t, exitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, "link leaves the base URL")
	assert.NotContains(t, r.stderr, "no answer")
	assert.Zero(t, hits.Load())

	r = fhirctl(t, env, "", "get", "Patient/loop")
	assert.Equal(t, exitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, "redirects")
	assert.NotContains(t, r.stderr, "no answer")
}
