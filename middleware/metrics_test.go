package middleware_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

func TestMetrics(t *testing.T) {
	var mu sync.Mutex
	var got []middleware.DecisionMetric
	e := newEnv(t, withMW(middleware.WithMetrics(func(m middleware.DecisionMetric) {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	})))
	// nth waits for the i-th metric: it is emitted after the response,
	// which the client may have read by then.
	nth := func(i int) middleware.DecisionMetric {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			n := len(got)
			if n > i || time.Now().After(deadline) {
				defer mu.Unlock()
				require.Greater(t, n, i, "no metric")
				return got[i]
			}
			mu.Unlock()
		}
	}
	alice := e.token("patient/*.rs", naivefhir.Alice)
	cases := []struct {
		name, path, tok string
		want            middleware.DecisionMetric
	}{
		{"allowed read", "/fhir/Observation/obs-p1-lab", alice, middleware.DecisionMetric{Interaction: "read", ResourceType: "Observation", Outcome: "allow", Status: 200}},
		{"withheld read", "/fhir/Observation/obs-p2-lab", alice, middleware.DecisionMetric{Interaction: "read", ResourceType: "Observation", Outcome: "deny", Status: 404, ReasonKind: middleware.ReasonHidden}},
		// The same labels as a withheld read: existence hiding.
		{"missing read", "/fhir/Observation/no-such-obs", alice, middleware.DecisionMetric{Interaction: "read", ResourceType: "Observation", Outcome: "deny", Status: 404, ReasonKind: middleware.ReasonHidden}},
		{"no token", "/fhir/Observation", "", middleware.DecisionMetric{Outcome: "deny", Status: 401, ReasonKind: middleware.ReasonInvalidToken}},
		{"bad token", "/fhir/Observation", "a.b.c", middleware.DecisionMetric{Outcome: "deny", Status: 401, ReasonKind: middleware.ReasonInvalidToken}},
		{"scope", "/fhir/Encounter?_id=1", e.token("patient/Observation.rs", naivefhir.Alice), middleware.DecisionMetric{Interaction: "search-type", ResourceType: "Encounter", Outcome: "deny", Status: 403, ReasonKind: middleware.ReasonScope}},
		{"malformed", "/fhir//Observation", alice, middleware.DecisionMetric{Outcome: "deny", Status: 400, ReasonKind: middleware.ReasonInvalidRequest}},
		{"public", "/fhir/metadata", "", middleware.DecisionMetric{Outcome: middleware.MetricPublic, Status: 200}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := e.get(t, tc.path, tc.tok)
			require.Equal(t, tc.want.Status, res.StatusCode, "%s", body)
			m := nth(i)
			assert.Positive(t, m.Latency)
			m.Latency = 0
			assert.Equal(t, tc.want, m)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, got, len(cases), "one metric per request")
}

func TestErrorHandler(t *testing.T) {
	var seen []*http.Request
	e := newEnv(t, withMW(middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, ref middleware.Refusal) {
		seen = append(seen, r)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(ref.Status)
		_, _ = io.WriteString(w, "refused: "+http.StatusText(ref.Status)+" "+ref.AuthError)
	})))
	res, body := e.get(t, "/fhir/Observation", "")
	assert.Equal(t, 401, res.StatusCode)
	assert.Equal(t, "refused: Unauthorized ", string(body))
	assert.Equal(t, `Bearer realm="fhir"`, res.Header.Get("WWW-Authenticate"), "the challenge is the middleware's")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	require.Len(t, seen, 1)
	require.NotNil(t, seen[0])
	assert.Equal(t, "/fhir/Observation", seen[0].URL.Path)

	// A withheld resource and a missing one reach the handler alike.
	alice := e.token("patient/*.rs", naivefhir.Alice)
	r1, b1 := e.get(t, "/fhir/Observation/obs-p2-lab", alice)
	r2, b2 := e.get(t, "/fhir/Observation/no-such-obs", alice)
	assert.Equal(t, 404, r1.StatusCode)
	assert.Equal(t, r2.StatusCode, r1.StatusCode)
	assert.Equal(t, string(b2), string(b1))
	assert.Equal(t, "refused: Not Found ", string(b1))

	// Allowed requests never see it.
	res, _ = e.get(t, "/fhir/Observation/obs-p1-lab", alice)
	assert.Equal(t, 200, res.StatusCode)
	assert.Len(t, seen, 3)

	_, err := middleware.New(e.ver, e.policy, middleware.WithErrorHandler(nil))
	assert.Error(t, err)
	_, err = middleware.New(e.ver, e.policy, middleware.WithMetrics(nil))
	assert.Error(t, err)
}

// Under existence hiding another patient's resource and a missing one
// count alike in the metrics (which a scrape may show to anyone), while
// the audit record, read by the operator only, says which was withheld.
func TestMetricsHideExistence(t *testing.T) {
	metrics := make(chan middleware.DecisionMetric, 10)
	fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
	e := newEnv(t, withInner(withHistory(fhir)), withMW(middleware.WithMetrics(func(m middleware.DecisionMetric) {
		metrics <- m
	})))
	alice := e.token("launch/patient patient/*.rs", naivefhir.Alice)
	probe := func(path string) (middleware.DecisionMetric, middleware.AuditRecord) {
		t.Helper()
		res, body := e.get(t, path, alice)
		require.Equal(t, http.StatusNotFound, res.StatusCode, "%s", body)
		select {
		case m := <-metrics: // emitted after the audit record, after the response
			m.Latency = 0
			return m, e.lastAudit(t)
		case <-time.After(5 * time.Second):
			t.Fatal("no metric")
			return middleware.DecisionMetric{}, middleware.AuditRecord{}
		}
	}
	for _, tc := range []struct{ name, withheld, missing, why string }{
		{"read", "/fhir/Observation/obs-p2-lab", "/fhir/Observation/no-such-obs", "response withheld"},
		{"instance history", "/fhir/Observation/obs-p2-lab/_history", "/fhir/Observation/no-such-obs/_history", "1 versions of the resource are outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, aw := probe(tc.withheld)
			mm, am := probe(tc.missing)
			assert.Equal(t, mm, mw, "the metric cannot tell them apart")
			assert.Equal(t, middleware.AuditDeny, mw.Outcome)
			assert.Equal(t, middleware.ReasonHidden, mw.ReasonKind)

			assert.Equal(t, middleware.AuditDeny, aw.Decision, "the audit record says it was withheld")
			assert.Equal(t, middleware.ReasonHidden, aw.ErrorKind)
			assert.Equal(t, 1, aw.Withheld)
			assert.Contains(t, aw.Reason, tc.why)
			assert.Equal(t, 404, aw.Status)

			assert.Equal(t, middleware.AuditAllow, am.Decision, "and that the server did not find this one")
			assert.Equal(t, 0, am.Withheld)
			assert.Equal(t, "not found", am.Reason)
			assert.Equal(t, 404, am.Status)
		})
	}
}
