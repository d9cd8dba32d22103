package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
)

// sharedCacheStores is RFC 9111's rule for a shared cache and the
// answer to a request with an Authorization header (section 3.5, with
// 5.2.2.7 for private): written from the RFC, apart from the code.
func sharedCacheStores(h http.Header) bool {
	if h.Get("Cdn-Cache-Control") != "" || h.Get("Surrogate-Control") != "" {
		return true // a CDN honouring these may use them instead
	}
	var ds []string
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			ds = append(ds, strings.ToLower(strings.TrimSpace(d)))
		}
	}
	allowed := false
	for _, d := range ds {
		switch {
		case d == "private" || d == "no-store":
			return false
		case d == "public" || d == "must-revalidate" || strings.HasPrefix(d, "s-maxage="):
			allowed = true
		}
	}
	return allowed
}

// An authorized answer was decided, narrowed and checked for one token,
// and its URL does not say whose it is: whatever Cache-Control the
// server gives it, no shared cache in front may keep it for the next
// caller of the URL. The client's own cache keeps the server's other
// directives, and a public endpoint keeps its Cache-Control as written.
func TestAuthorizedAnswersStayPrivate(t *testing.T) {
	cases := [][]string{
		{"public, max-age=600"},
		{"PUBLIC"},
		{"max-age=60", "s-maxage=600"},
		{"must-revalidate, max-age=60"},
		{`private="Set-Cookie", public, max-age=60`},
		{"no-cache", "Public"},
	}
	var cc []string
	var targeted bool
	key := "Cache-Control"
	fhir := naivefhir.New("/fhir", naivefhir.Sample()...)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()[key] = cc
		if targeted {
			w.Header()[strings.ToLower("CDN-"+key)] = []string{"max-age=600"}
			w.Header().Set("Surrogate-Control", "max-age=600")
		}
		if r.URL.Path == "/fhir/metadata" {
			_, _ = w.Write([]byte(`{"resourceType":"CapabilityStatement"}`))
			return
		}
		fhir.ServeHTTP(w, r)
	})
	e := newEnv(t, withInner(inner))
	requests := map[string]string{
		"unchecked search":    e.token("user/Patient.rs", ""),
		"checked read":        e.token("patient/*.rs", naivefhir.Alice),
		"checked search":      e.token("patient/Observation.rs", naivefhir.Alice),
		"refused by a policy": e.token("user/Observation.rs", ""),
	}
	paths := map[string]string{
		"unchecked search":    "/fhir/Patient?name=Alice",
		"checked read":        "/fhir/Patient/" + naivefhir.Alice,
		"checked search":      "/fhir/Observation?_getpages=x",
		"refused by a policy": "/fhir/Patient/" + naivefhir.Alice,
	}
	// A handler may set a field under a key of its own spelling, which
	// net/http sends as written and every cache reads case-insensitively.
	for _, key = range []string{"Cache-Control", "cache-control", "CACHE-CONTROL"} {
		for _, c := range cases {
			for _, tg := range []bool{false, true} {
				cc, targeted = c, tg
				for name, tok := range requests {
					res, body := e.get(t, paths[name], tok)
					assert.False(t, sharedCacheStores(res.Header), "%s, %s: %q: %v (%d %s)", name, key, c, res.Header, res.StatusCode, body)
					if res.StatusCode == http.StatusOK && strings.Contains(strings.Join(c, ","), "max-age=") {
						assert.Contains(t, res.Header.Get("Cache-Control"), "max-age=", "%s, %s: %q: the client's own cache keeps its freshness", name, key, c)
					}
				}
			}
		}
	}
	key, cc, targeted = "Cache-Control", []string{"public, max-age=600"}, false
	res, _ := e.get(t, "/fhir/metadata", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "public, max-age=600", res.Header.Get("Cache-Control"), "a public endpoint's answer is everyone's")
}
