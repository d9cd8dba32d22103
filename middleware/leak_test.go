package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// The middleware in front of a naive FHIR server (which returns whatever
// is asked) keeps every other patient's data away from a patient-context
// client. The same requests sent to the naive server directly leak, which
// shows the test can fail.
func TestNaiveServerLeakNothing(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/*.rs", naivefhir.Alice)
	direct := httptest.NewServer(naivefhir.New("/fhir", naivefhir.Sample()...))
	defer direct.Close()

	leakyDirect := 0
	for _, c := range naivefhir.Attacks {
		t.Run(c.Name, func(t *testing.T) {
			h := bearer(tok)
			if c.ContentType != "" {
				h.Set("Content-Type", c.ContentType)
			}
			path := "/fhir"
			if c.Path != "" && c.Path[0] != '?' {
				path += "/"
			}
			path += c.Path
			res, body := e.request(t, c.Method, path, h, c.Body)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %s", res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500, "body: %s", body)
			if strings.Contains(c.Name, "own") {
				assert.Equal(t, 200, res.StatusCode)
			}

			req, err := http.NewRequest(c.Method, direct.URL+path, strings.NewReader(c.Body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", c.ContentType)
			dres, err := direct.Client().Do(req)
			require.NoError(t, err)
			var db strings.Builder
			_, _ = copyBody(&db, dres)
			if len(naivefhir.Leaks([]byte(db.String()), naivefhir.Alice)) > 0 {
				leakyDirect++
			}
		})
	}
	assert.GreaterOrEqual(t, leakyDirect, 20, "the naive server must leak without the middleware")
	e.assertNoTokenLogged(t)
}

// Paging: every page a patient-context client reaches by following next
// links is narrowed again (the links are just requests).
func TestPagingLinksReauthorized(t *testing.T) {
	e := newEnv(t)
	tok := e.token("patient/Observation.rs", naivefhir.Alice)
	next := "/fhir/Observation?_count=1"
	var seen []string
	for range 10 {
		res, body := e.get(t, next, tok)
		require.Equal(t, 200, res.StatusCode, "body: %s", body)
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice))
		b := parseBundle(t, body)
		seen = append(seen, b.ids()...)
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				u, err := url.Parse(l.URL)
				require.NoError(t, err)
				next = u.RequestURI()
			}
		}
		if next == "" {
			break
		}
	}
	assert.ElementsMatch(t, []string{"Observation/obs-p1-by-p2", "Observation/obs-p1-lab", "Observation/obs-p1-vital"}, seen)
}
