package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// asyncServer answers every request with Prefer: respond-async, or with
// X-Async (a server that goes asynchronous unasked, as one may for long
// work), as a server of FHIR's asynchronous pattern does: 202 Accepted
// and the polling URL of the result in Content-Location (or, when the
// request has X-Redirect, a 303 to it), nothing else.
func asyncServer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Prefer"), "respond-async") && r.Header.Get("X-Async") == "" {
			w.Header().Set("Content-Type", "application/fhir+json")
			_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"batch-response"}`))
			return
		}
		if r.Header.Get("X-Redirect") != "" {
			w.Header().Set("Location", "http://fhir.test/fhir/_async/77")
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Location", "http://fhir.test/fhir/_async/77")
		w.WriteHeader(http.StatusAccepted)
	})
}

// An asynchronous answer: the result of a request whose response must be
// checked would be served from a polling URL the check never sees.
// Prefer: respond-async is refused before the server sees it
// (TestAttackPreferAsyncRefusedUpFront); a server that answers so
// unasked meets the check of its answer: a single request answered so is
// refused as unchecked (a 202 holds nothing to check); so is a batch with
// an entry whose response must be checked, and neither passes the
// polling URL on. The polling URL itself is no FHIR request the policy
// can authorize.
func TestAttackAsyncAnswerUnchecked(t *testing.T) {
	e := newEnv(t, withInner(asyncServer()))
	ptok := e.token("patient/*.rs", naivefhir.Alice)
	utok := e.token("user/Observation.rs?category=laboratory", "")
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation?code=x"}},{"request":{"method":"GET","url":"Observation/obs-p2-lab"}}]}`
	for _, c := range []struct {
		name, method, path, body, tok string
		redirect                      bool
	}{
		{"read", "GET", "/fhir/Observation/obs-p2-lab", "", ptok, false},
		{"constrained search", "GET", "/fhir/Observation?code=x", "", utok, false},
		{"batch, patient", "POST", "/fhir", batch, ptok, false},
		{"batch, constrained", "POST", "/fhir", batch, utok, false},
		{"batch, redirected", "POST", "/fhir", batch, ptok, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := bearer(c.tok)
			h.Set("X-Async", "1")
			if c.redirect {
				h.Set("X-Redirect", "1")
			}
			if c.body != "" {
				h.Set("Content-Type", "application/fhir+json")
			}
			res, body := e.request(t, c.method, c.path, h, c.body)
			assert.NotEqual(t, http.StatusAccepted, res.StatusCode, "body: %s", body)
			assert.NotEqual(t, http.StatusSeeOther, res.StatusCode, "body: %s", body)
			assert.GreaterOrEqual(t, res.StatusCode, 400, "body: %s", body)
			assert.Empty(t, res.Header.Get("Content-Location"))
			assert.Empty(t, res.Header.Get("Location"))
		})
	}
	for _, p := range []string{"/fhir/_async/77", "/_async/77", "/fhir/Observation/_async/77"} {
		res, body := e.get(t, p, ptok)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%s: %s", p, body)
	}
}
