package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// withHistory wraps the naive server with instance history: GET
// Type/id/_history answers a history Bundle of the stored resource, or
// 404 when there is none (as FHIR servers do).
func withHistory(fhir *naivefhir.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/fhir/"), "/")
		if r.Method != http.MethodGet && r.Method != http.MethodHead || len(segs) != 3 || segs[2] != "_history" {
			fhir.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		res, ok := fhir.Get(segs[0], segs[1])
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Resource `+segs[0]+`/`+segs[1]+` is not known"}]}`)
			return
		}
		b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "history", "total": 1,
			"entry": []any{map[string]any{"fullUrl": "http://" + r.Host + "/fhir/" + segs[0] + "/" + segs[1], "resource": json.RawMessage(res),
				"request": map[string]any{"method": "PUT", "url": segs[0] + "/" + segs[1]}}}})
		_, _ = w.Write(b)
	})
}

// answer is a response with what must not differ between a withheld and
// a missing resource: status, headers (but Date), body (with the id
// replaced).
func answer(res *http.Response, body []byte, id string) string {
	var keys []string
	for k := range res.Header {
		if k != "Date" && k != "X-Request-Id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(res.Status + "\n")
	for _, k := range keys {
		b.WriteString(k + ": " + strings.Join(res.Header[k], ", ") + "\n")
	}
	b.WriteString(strings.ReplaceAll(string(body), id, "ID"))
	return b.String()
}

// TestAttackExistenceOracles: every way of asking about a resource by id
// (read, HEAD, vread, instance history, $meta, updates and deletes with
// If-Match, conditional create) answers for another patient's resource
// exactly as for one that does not exist, header for header and byte for
// byte, and in the metric (whose labels a scrape may show to others),
// while the caller's own resource still answers.
func TestAttackExistenceOracles(t *testing.T) {
	fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
	metrics := make(chan middleware.DecisionMetric, 100)
	e := newEnv(t, withInner(withHistory(fhir)), withMW(middleware.WithMetrics(func(m middleware.DecisionMetric) {
		m.Latency = 0
		metrics <- m
	})))
	// nextMetric waits for the metric of a request: it is emitted after
	// the response, which the client may have read by then.
	nextMetric := func() middleware.DecisionMetric {
		select {
		case m := <-metrics:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no metric")
			return middleware.DecisionMetric{}
		}
	}
	tok := e.token("patient/*.cruds", naivefhir.Alice)
	const other, missing, own = "obs-p2-lab", "no-such-obs", "obs-p1-lab"
	obs := `{"resourceType":"Observation","id":"ID","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`
	patch := `[{"op":"replace","path":"/status","value":"amended"}]`
	type probe struct {
		name, method, path string // path: "ID" stands for the id
		header             http.Header
		body               string
		ownStatus          int // what the caller's own resource answers
	}
	h := func(kv ...string) http.Header {
		out := bearer(tok)
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	probes := []probe{
		{name: "read", method: "GET", path: "Observation/ID", header: h(), ownStatus: 200},
		// A checked HEAD is refused whatever the id (the response must
		// be checked and a HEAD response has no body): no oracle either.
		{name: "HEAD", method: "HEAD", path: "Observation/ID", header: h(), ownStatus: 400},
		{name: "read If-None-Match", method: "GET", path: "Observation/ID", header: h("If-None-Match", `W/"1"`), ownStatus: 200},
		{name: "vread", method: "GET", path: "Observation/ID/_history/1", header: h(), ownStatus: 200},
		{name: "HEAD vread", method: "HEAD", path: "Observation/ID/_history/1", header: h(), ownStatus: 400},
		{name: "instance history", method: "GET", path: "Observation/ID/_history", header: h(), ownStatus: 200},
		{name: "HEAD instance history", method: "HEAD", path: "Observation/ID/_history", header: h(), ownStatus: 400},
		{name: "instance history _summary=count", method: "GET", path: "Observation/ID/_history?_summary=count", header: h(), ownStatus: 200},
		{name: "$meta", method: "GET", path: "Observation/ID/$meta", header: h()},
		{name: "update If-Match", method: "PUT", path: "Observation/ID", header: h("If-Match", `W/"1"`, "Content-Type", "application/fhir+json"), body: obs, ownStatus: 200},
		{name: "update If-Match other version", method: "PUT", path: "Observation/ID", header: h("If-Match", `W/"7"`, "Content-Type", "application/fhir+json"), body: obs},
		{name: "patch If-Match", method: "PATCH", path: "Observation/ID", header: h("If-Match", `W/"1"`, "Content-Type", "application/json-patch+json"), body: patch},
		{name: "delete If-Match", method: "DELETE", path: "Observation/ID", header: h("If-Match", `W/"1"`)},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			do := func(id string) string {
				body := strings.ReplaceAll(p.body, "ID", id)
				res, b := e.request(t, p.method, "/fhir/"+strings.ReplaceAll(p.path, "ID", id), p.header, body)
				assert.NotContains(t, string(b), "p2", "nothing of Bob")
				return answer(res, b, id) + fmt.Sprintf("\nmetric %+v", nextMetric())
			}
			withheld, absent := do(other), do(missing)
			assert.Equal(t, absent, withheld, "another patient's resource answers as a missing one")
			assert.NotContains(t, withheld, "200 OK")
			if p.ownStatus != 0 {
				res, b := e.request(t, p.method, "/fhir/"+strings.ReplaceAll(p.path, "ID", own), p.header, strings.ReplaceAll(p.body, "ID", own))
				assert.Equal(t, p.ownStatus, res.StatusCode, "own resource: %s", b)
				nextMetric()
			}
		})
	}
	// Bob's resource was never written.
	res, ok := fhir.Get("Observation", other)
	require.True(t, ok)
	assert.Contains(t, string(res), "Patient/p2")

	// A conditional create whose condition matches only another
	// patient's resource creates (the condition is narrowed to the
	// caller's compartment): the answer cannot tell whether it matched.
	before := len(fhir.Requests())
	r, b := e.request(t, "POST", "/fhir/Observation", h("If-None-Exist", "_id="+other, "Content-Type", "application/fhir+json"),
		strings.ReplaceAll(obs, `"id":"ID",`, ""))
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", b)
	sent := fhir.Requests()[before:]
	require.NotEmpty(t, sent)
	assert.Contains(t, sent[len(sent)-1].Header.Get("If-None-Exist"), "patient=Patient%2Fp1")
}

// TestAttackExistenceOracleBatchIfMatch: a batch entry that updates by id
// with its own request.ifMatch (no If-Match on the POST itself) answers
// for another patient's resource exactly as for a missing one, and
// creates nothing.
func TestAttackExistenceOracleBatchIfMatch(t *testing.T) {
	fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
	e := newEnv(t, withInner(fhir))
	tok := e.token("patient/*.cruds", naivefhir.Alice)
	const other, missing = "obs-p2-lab", "no-such-obs"
	entryAnswer := func(id string) string {
		body := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PUT","url":"Observation/` + id + `","ifMatch":"W/\"1\""},` +
			`"resource":{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}]}`
		h := bearer(tok)
		h.Set("Content-Type", "application/fhir+json")
		res, b := e.request(t, "POST", "/fhir", h, body)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s", b)
		var resp struct {
			Entry []json.RawMessage `json:"entry"`
		}
		require.NoError(t, json.Unmarshal(b, &resp), "%s", b)
		require.Len(t, resp.Entry, 1)
		return strings.ReplaceAll(string(resp.Entry[0]), id, "ID")
	}
	withheld, absent := entryAnswer(other), entryAnswer(missing)
	assert.Equal(t, absent, withheld, "another patient's resource answers as a missing one")
	assert.Contains(t, withheld, "404")
	_, created := fhir.Get("Observation", missing)
	assert.False(t, created, "an update conditional on a version creates nothing")
}
