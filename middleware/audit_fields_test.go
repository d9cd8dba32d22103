package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

func TestAuditRecordFields(t *testing.T) {
	e := newEnv(t, withMW(middleware.WithRequestIDs()))
	tok := e.iss.Mint(map[string]any{"sub": "u1", "client_id": "app-1", "scope": "patient/*.rs", "patient": naivefhir.Alice, "jti": "tok-42"})
	h := bearer(tok)
	h.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("X-Request-Id", "client-req-7")
	res, _ := e.request(t, http.MethodGet, "/fhir/Observation?code=8867-4", h, "")
	require.Equal(t, 200, res.StatusCode)
	rec := e.lastAudit(t)
	assert.Equal(t, e.iss.URL, rec.Issuer)
	assert.Equal(t, "tok-42", rec.TokenID)
	assert.Equal(t, "app-1", rec.ClientID)
	assert.Equal(t, "", rec.ErrorKind)
	assert.Equal(t, "patient=Patient%2Fp1", rec.Narrowing.Encode())
	assert.True(t, strings.HasPrefix(rec.RemoteAddr, "127.0.0.1:"), rec.RemoteAddr)
	assert.Equal(t, "client-req-7", rec.RequestID)
	assert.Equal(t, "client-req-7", res.Header.Get("X-Request-Id"))
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", rec.TraceID)

	// A refusal: its kind; a generated request id, returned.
	res, _ = e.request(t, http.MethodGet, "/fhir/Encounter?_id=1", bearer(e.token("patient/Observation.rs", naivefhir.Alice)), "")
	require.Equal(t, 403, res.StatusCode)
	rec = e.lastAudit(t)
	assert.Equal(t, middleware.ReasonScope, rec.ErrorKind)
	assert.NotEmpty(t, rec.RequestID)
	assert.Equal(t, rec.RequestID, res.Header.Get("X-Request-Id"))
	assert.Empty(t, rec.TraceID)
	assert.Nil(t, rec.Narrowing)

	// Hostile ids are replaced, hostile traceparents ignored.
	ids := map[string]bool{}
	for name, id := range map[string]string{"too long": strings.Repeat("a", 129), "space": "a b", "non-ASCII": "caf\u00e9"} {
		h := bearer(tok)
		h.Set("X-Request-Id", id)
		res, _ := e.request(t, http.MethodGet, "/fhir/Observation/obs-p1-lab", h, "")
		got := res.Header.Get("X-Request-Id")
		assert.NotEqual(t, id, got, name)
		assert.NotEmpty(t, got, name)
		assert.False(t, ids[got], "unique: %s", name)
		ids[got] = true
	}
	for name, tp := range map[string]string{
		"upper-case":     "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"zero trace":     "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"zero parent":    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"version ff":     "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"short":          "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
		"v00 with extra": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
		"not hex":        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
	} {
		h := bearer(tok)
		h.Set("Traceparent", tp)
		e.request(t, http.MethodGet, "/fhir/Observation/obs-p1-lab", h, "")
		assert.Empty(t, e.lastAudit(t).TraceID, name)
	}
	// A future version may add fields after a "-".
	h = bearer(tok)
	h.Set("Traceparent", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")
	e.request(t, http.MethodGet, "/fhir/Observation/obs-p1-lab", h, "")
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", e.lastAudit(t).TraceID)
}

// Without WithRequestIDs a client's id is still echoed and audited, and
// none is generated.
func TestRequestIDEchoOnly(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	res, _ := e.get(t, "/fhir/Observation/obs-p1-lab", tok)
	assert.Empty(t, res.Header.Get("X-Request-Id"))
	assert.Empty(t, e.lastAudit(t).RequestID)
	h := bearer(tok)
	h.Set("X-Request-Id", "abc")
	res, _ = e.request(t, http.MethodGet, "/fhir/Observation/obs-p2-lab", h, "")
	assert.Equal(t, 404, res.StatusCode)
	assert.Equal(t, "abc", res.Header.Get("X-Request-Id"), "on refusals too")
	assert.Equal(t, "abc", e.lastAudit(t).RequestID)
}
