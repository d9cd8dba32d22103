package fhirapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/fhirapi"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// FuzzHandler sends arbitrary requests (method, path with query, body) to
// the FHIR handler: it never panics, never answers 5xx, and every body is
// JSON with a resourceType.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"GET", "/fhir/Patient/1", ""},
		{"GET", "/fhir/Observation?patient=1&_include=Observation:patient&_count=1", ""},
		{"GET", "/fhir/Patient/1/$everything", ""},
		{"GET", "/fhir/Patient/1/Observation?category=laboratory", ""},
		{"GET", "/fhir/Observation/obs-lab-1/_history/1", ""},
		{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`},
		{"PUT", "/fhir/Patient/9", `{"resourceType":"Patient","id":"9"}`},
		{"PATCH", "/fhir/Patient/1", `[{"op":"replace","path":"/gender","value":"male"}]`},
		{"DELETE", "/fhir/Observation?category=laboratory", ""},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation"}}]}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/../x"}}]}`},
		{"GET", "/fhir/Patient/%2e%2e/1", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body)
	}
	v, err := store.NewValidator(fhirversion.STU3)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		switch method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return
		}
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n#") {
			return
		}
		s, _ := store.New(v)
		_ = sample.Load(s)
		h, _ := fhirapi.New(s, fhirapi.WithBaseURL("http://fhir.test/fhir"))
		req, err := http.NewRequest(method, "http://fhir.test"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		ct := "application/fhir+json"
		if method == "PATCH" {
			ct = "application/json-patch+json"
		}
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, rec.Body.String())
		if rec.Body.Len() > 0 {
			var doc struct {
				ResourceType string `json:"resourceType"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
			require.NotEmpty(t, doc.ResourceType)
		}
	})
}
