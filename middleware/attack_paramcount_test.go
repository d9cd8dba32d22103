package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// firstParams is an upstream that reads no more than limit parameters of
// a query, as Node's querystring.parse (maxKeys), the qs package behind
// Express's default query parser (parameterLimit) and Tomcat
// (maxParameterCount) do, all 1000 by default: the parameters after the
// limit are dropped without an error.
func firstParams(next http.Handler, limit int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if items := strings.Split(r.URL.RawQuery, "&"); len(items) > limit {
			u := *r.URL
			u.RawQuery = strings.Join(items[:limit], "&")
			r2 := r.Clone(r.Context())
			r2.URL = &u
			r2.RequestURI = u.RequestURI()
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// A search with so many parameters that the narrowing one, which the
// middleware adds (or finds) after them, is past the upstream's parameter
// limit: the upstream would run the search without it.
func TestAttackNarrowingPastParameterLimit(t *testing.T) {
	e := newEnv(t, withInner(firstParams(naivefhir.New("/fhir", naivefhir.Sample()...), 1000)))
	tok := e.token("patient/*.rs", naivefhir.Alice)
	many := strings.Repeat("code=2339-0&", 1000)
	for name, target := range map[string]string{
		"narrowing added":   "/fhir/Observation?" + strings.TrimSuffix(many, "&"),
		"narrowing present": "/fhir/Observation?" + many + "patient=p1",
		"modifiers":         "/fhir/Observation?" + strings.Repeat("_count=5&", 1000) + "code=2339-0",
	} {
		t.Run(name, func(t *testing.T) {
			res, body := e.get(t, target, tok)
			assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %.300s", res.StatusCode, body)
			assert.Less(t, res.StatusCode, 500, "body: %.300s", body)
		})
	}
	t.Run("POST _search", func(t *testing.T) {
		h := bearer(tok)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		res, body := e.request(t, http.MethodPost, "/fhir/Observation/_search?"+strings.TrimSuffix(many, "&"), h, "code=2339-0")
		assert.Empty(t, naivefhir.Leaks(body, naivefhir.Alice), "status %d body: %.300s", res.StatusCode, body)
	})
}
