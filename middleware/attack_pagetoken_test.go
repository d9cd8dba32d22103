package middleware_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pageTokenServer pages as Azure's FHIR service (ct), Cerner's
// (-pageContext) and HealthLake (page) do: a continuation token in a
// parameter without a leading underscore. Its token carries the whole
// search it continues, so when one is given it answers that search and
// ignores every other parameter, the patient narrowing included. The one
// token it knows is a page of Bob's (p2) search, with one of Alice's
// (p1) Observations mixed in. Without a token it searches by patient.
type pageTokenServer struct {
	mu      sync.Mutex
	queries []url.Values
}

const (
	pageObsAlice = `{"resourceType":"Observation","id":"a1","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p1"}}`
	pageObsBob   = `{"resourceType":"Observation","id":"b1","status":"final","code":{"text":"hiv"},"subject":{"reference":"Patient/p2"}}`
	pageObsBob2  = `{"resourceType":"Observation","id":"b2","status":"final","code":{"text":"hep"},"subject":{"reference":"Patient/p2"}}`
)

func (s *pageTokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/fhir+json")
	var entries []string
	switch {
	case q.Get("ct") == "bob-page-2" || q.Get("-pageContext") == "bob-page-2" || q.Get("page") == "bob-page-2":
		entries = []string{pageObsBob, pageObsAlice, pageObsBob2}
	case q.Get("patient") == "Patient/p1":
		entries = []string{pageObsAlice}
	}
	for i, e := range entries {
		entries[i] = `{"resource":` + e + `,"search":{"mode":"match"}}`
	}
	_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":` + strconv.Itoa(len(entries)) +
		`,"entry":[` + strings.Join(entries, ",") + `]}`))
}

// A narrowed search whose page token replays another patient's search
// gets its page checked: Bob's Observations are withheld from Alice (and
// counted in the audit record), Alice's own passes, and the token still
// reaches the server beside the narrowing. A narrowed search with known
// parameters only is not checked: the server's answer passes as it was
// written.
func TestAttackPageTokenReplaysAnotherPatientsSearch(t *testing.T) {
	srv := &pageTokenServer{}
	e := newEnv(t, withInner(srv))
	alice := e.token("launch/patient patient/*.rs", "p1")

	for _, param := range []string{"ct", "-pageContext", "page"} {
		res, body := e.get(t, "/fhir/Observation?code=hr&"+param+"=bob-page-2", alice)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", param, body)
		assert.NotContains(t, string(body), "Patient/p2", "%s: Bob's Observations reached Alice: %s", param, body)
		assert.Contains(t, string(body), `"id":"a1"`, "%s: Alice's own Observation", param)
		assert.NotContains(t, string(body), `"total"`, "%s: the total counts what was withheld", param)
		last := srv.queries[len(srv.queries)-1]
		assert.Equal(t, []string{"bob-page-2"}, last[param], "%s goes to the server", param)
		assert.Equal(t, []string{"Patient/p1"}, last["patient"], "%s: narrowed", param)
		rec := e.lastAudit(t)
		assert.Equal(t, 2, rec.Withheld, "%s", param)
		assert.Equal(t, "allow", rec.Decision, "%s", param)
	}

	// Known parameters only: narrowed, not checked.
	res, body := e.get(t, "/fhir/Observation?code=hr&_count=50", alice)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	assert.Equal(t, `{"resourceType":"Bundle","type":"searchset","total":1,"entry":[{"resource":`+pageObsAlice+`,"search":{"mode":"match"}}]}`, string(body),
		"passed as the server wrote it (a checked Bundle is rebuilt without its total)")
	assert.Equal(t, []string{"Patient/p1"}, srv.queries[len(srv.queries)-1]["patient"])
	assert.Zero(t, e.lastAudit(t).Withheld)
}

// A backend service whose system/*.rs may see every resource pages with
// the server's token unchecked: its page passes as the server wrote it
// (total kept), even past the limit on checked responses, where a check
// would have answered 502 for a page nothing in could be withheld from.
func TestPageTokenOfEveryTypeTokenStreams(t *testing.T) {
	const limit = 64 << 10
	var page strings.Builder
	page.WriteString(`{"resourceType":"Bundle","type":"searchset","total":9999,"entry":[`)
	for i := 0; page.Len() < 2*limit; i++ {
		if i > 0 {
			page.WriteByte(',')
		}
		page.WriteString(`{"resource":{"resourceType":"Observation","id":"o` + strconv.Itoa(i) + `","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p` + strconv.Itoa(i) + `"}}}`)
	}
	page.WriteString(`]}`)
	e := newEnv(t, withInner(fixedInner([]byte(page.String()))), withMW(middleware.WithMaxResponseSize(limit)))

	res, body := e.get(t, "/fhir/Observation?ct=next-page", e.token("system/*.rs", ""))
	require.Equal(t, http.StatusOK, res.StatusCode, "%.300s", body)
	assert.Equal(t, page.String(), string(body))

	res, _ = e.get(t, "/fhir/Observation?ct=next-page", e.token("system/Observation.rs system/Patient.rs", ""))
	assert.Equal(t, http.StatusBadGateway, res.StatusCode, "checked, and over the limit")
}
