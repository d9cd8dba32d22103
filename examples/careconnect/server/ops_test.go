package server_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// careconnect serves /healthz, /readyz and /metrics outside the FHIR
// base, without a token; /metrics counts the middleware's decisions.
func TestCareConnectOpsEndpoints(t *testing.T) {
	a := startAttack(t, attackClients)
	get := func(path string) (int, string) {
		res, err := http.Get(a.s.URL() + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, body := get("/healthz")
	assert.Equal(t, 200, status, body)
	status, body = get("/readyz")
	assert.Equal(t, 200, status, body)

	ro := a.token(t, "ro", "")
	assert.Equal(t, 200, a.do(t, http.MethodGet, "/Observation/obs-lab-1", ro, "", "").status)
	// careconnect's store withholds another patient's resource itself
	// (the middleware lets the read through, then the store answers 404).
	// Under existence hiding that 404 counts as one the middleware
	// answered would: a missing resource and a withheld one alike.
	assert.Equal(t, 404, a.do(t, http.MethodGet, "/Observation/obs-lab-2", ro, "", "").status)
	assert.Equal(t, 401, a.do(t, http.MethodGet, "/Observation", "", "", "").status)
	status, body = get("/metrics")
	require.Equal(t, 200, status)
	assert.Contains(t, body, `fhirwarden_decisions_total{interaction="read",outcome="allow",reason="",resource_type="Observation",status="200"} 1`)
	assert.Contains(t, body, `fhirwarden_decisions_total{interaction="read",outcome="deny",reason="not-found",resource_type="Observation",status="404"} 1`)
	assert.Contains(t, body, `fhirwarden_decisions_total{interaction="",outcome="deny",reason="invalid-token",resource_type="",status="401"} 1`)
	assert.Contains(t, body, "fhirwarden_tokens_verified_total")
}
