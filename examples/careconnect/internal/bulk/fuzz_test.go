package bulk

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// FuzzKickOff: any kick-off query is answered 202, 400 or 429 (never a
// panic or a 5xx), and a job is started only for types the token's
// system/ scopes read without constraints.
func FuzzKickOff(f *testing.F) {
	for _, q := range []string{"", "_type=Patient", "_type=Patient,Observation&_since=2024-01-01T00:00:00Z",
		"_type=Observation&_type=Observation", "_since=2024-13-01", "_outputFormat=ndjson", "_type=%zz", "_type=,,,", "_typeFilter=x"} {
		f.Add(q)
	}
	set, _ := scope.ParseSet("system/Patient.rs system/Observation.rs")
	e, _ := newTestExporter(f, &token.Principal{ClientID: "c", Scopes: set})
	f.Fuzz(func(t *testing.T, query string) {
		e.mu.Lock()
		e.jobs = map[string]*job{}
		e.mu.Unlock()
		r := httptest.NewRequest("GET", "/fhir/$export", nil)
		r.URL.RawQuery = query
		r.Header.Set("Prefer", "respond-async")
		w := httptest.NewRecorder()
		e.KickOff(w, r)
		switch w.Code {
		case http.StatusAccepted:
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, j := range e.jobs {
				for _, typ := range j.types {
					if set.Permits(scope.System, typ, scope.Read|scope.Search) != scope.Unconstrained {
						t.Fatalf("query %q exports %s", query, typ)
					}
				}
			}
		case http.StatusBadRequest, http.StatusTooManyRequests:
		default:
			t.Fatalf("query %q: status %d: %s", query, w.Code, w.Body)
		}
	})
}
