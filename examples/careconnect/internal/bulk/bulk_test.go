package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

type authFunc func(string) (*token.Principal, error)

func (f authFunc) Authenticate(_ context.Context, raw string) (*token.Principal, error) {
	return f(raw)
}

// newTestExporter builds an exporter over two patients, their
// Observations and a Group of patient 1, for the caller pr.
func newTestExporter(t testing.TB, pr *token.Principal) (*Exporter, *store.Store) {
	t.Helper()
	v, err := store.NewValidator(fhirversion.R4)
	require.NoError(t, err)
	st, err := store.New(v)
	require.NoError(t, err)
	for _, doc := range []string{
		`{"resourceType":"Patient","id":"1"}`, `{"resourceType":"Patient","id":"2"}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"}}`,
		`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/2"}}`,
		`{"resourceType":"Group","id":"g1","type":"person","actual":true,"member":[{"entity":{"reference":"Patient/1"}}]}`,
	} {
		var head struct{ ResourceType string }
		require.NoError(t, jsonUnmarshal(doc, &head))
		_, err := st.Put(head.ResourceType, []byte(doc))
		require.NoError(t, err, doc)
	}
	e, err := New(Config{Store: st, Version: fhirspec.R4, RootURL: "http://x",
		Authenticator: authFunc(func(raw string) (*token.Principal, error) {
			if raw == "good" {
				return pr, nil
			}
			return nil, errors.New("bad token")
		}),
		Principal: func(*http.Request) *token.Principal { return pr }})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e, st
}

func kick(e *Exporter, target string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Set("Prefer", "respond-async")
	if rest, ok := strings.CutPrefix(r.URL.Path, "/fhir/Group/"); ok {
		r.SetPathValue("id", strings.TrimSuffix(rest, "/$export")) // as the server's mux does
	}
	w := httptest.NewRecorder()
	e.KickOff(w, r)
	return w
}

// finish polls job until it completes and returns its files by type.
func finish(t *testing.T, e *Exporter, w *httptest.ResponseRecorder) map[string]int {
	t.Helper()
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	id := w.Header().Get("Content-Location")[len("http://x"+Path):]
	for range 200 {
		e.mu.Lock()
		j := e.jobs[id]
		e.mu.Unlock()
		j.mu.Lock()
		done := j.complet
		files := map[string]int{}
		for _, f := range j.files {
			files[f.Type] = f.Count
		}
		j.mu.Unlock()
		if done {
			return files
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("job did not finish")
	return nil
}

// TestGroupAndPatientExports: a Group export holds only its members'
// compartments (Patient/2's records stay out); a Patient export only
// compartment types.
func TestGroupAndPatientExports(t *testing.T) {
	set, _ := scope.ParseSet("system/*.rs")
	e, _ := newTestExporter(t, &token.Principal{ClientID: "c", Scopes: set})
	files := finish(t, e, kick(e, "/fhir/Group/g1/$export"))
	assert.Equal(t, map[string]int{"Patient": 1, "Observation": 1, "Group": 1}, files)
	files = finish(t, e, kick(e, "/fhir/Patient/$export"))
	assert.Equal(t, map[string]int{"Patient": 2, "Observation": 2, "Group": 1}, files)
	files = finish(t, e, kick(e, "/fhir/$export"))
	assert.Equal(t, map[string]int{"Patient": 2, "Observation": 2, "Group": 1}, files)
	w := kick(e, "/fhir/Patient/$export?_type=Organization")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "not in the patient compartment")
}

// TestExporterRefusesWhatScopesDoNotCover: without the middleware in
// front, the exporter still refuses types the scopes do not cover, or
// cover only under constraints, and callers without a client id.
func TestExporterRefusesWhatScopesDoNotCover(t *testing.T) {
	set, _ := scope.ParseSet("system/Patient.rs system/Observation.rs?category=laboratory user/*.rs")
	e, _ := newTestExporter(t, &token.Principal{ClientID: "c", Scopes: set})
	for _, target := range []string{"/fhir/$export", "/fhir/$export?_type=Observation", "/fhir/$export?_type=Group"} {
		w := kick(e, target)
		assert.Equal(t, http.StatusBadRequest, w.Code, target)
		assert.Contains(t, w.Body.String(), "system/ scopes do not let it read", target)
	}
	assert.Equal(t, map[string]int{"Patient": 2}, finish(t, e, kick(e, "/fhir/$export?_type=Patient")))

	anon, _ := newTestExporter(t, &token.Principal{Scopes: set})
	assert.Equal(t, http.StatusUnauthorized, kick(anon, "/fhir/$export?_type=Patient").Code)
}

// TestJobLimit: at most maxJobs jobs at once; deleting one makes room.
func TestJobLimit(t *testing.T) {
	set, _ := scope.ParseSet("system/*.rs")
	e, _ := newTestExporter(t, &token.Principal{ClientID: "c", Scopes: set})
	var first string
	for i := range maxJobs {
		w := kick(e, "/fhir/$export?_type=Patient")
		require.Equal(t, http.StatusAccepted, w.Code, i)
		if i == 0 {
			first = w.Header().Get("Content-Location")
		}
	}
	assert.Equal(t, http.StatusTooManyRequests, kick(e, "/fhir/$export?_type=Patient").Code)
	r := httptest.NewRequest("DELETE", first, nil)
	r.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	e.Handler().ServeHTTP(w, r)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	assert.Equal(t, http.StatusAccepted, kick(e, "/fhir/$export?_type=Patient").Code)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
