package client_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// exampleFHIR is a tiny FHIR server for the examples: it accepts tokens of
// iss, serves Patient/9000000009 and seven Observations of that patient,
// two per page, and refuses types the token's scope does not name.
func exampleFHIR(iss *tokentest.Issuer) *httptest.Server {
	mux := http.NewServeMux()
	deny := func(w http.ResponseWriter, status int, code, diag string) {
		w.Header().Set("Content-Type", "application/fhir+json")
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":%q,"diagnostics":%q}]}`, code, diag)
	}
	authorized := func(w http.ResponseWriter, r *http.Request, typ string) bool {
		claims, active := iss.Introspect(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if !active {
			deny(w, http.StatusUnauthorized, "login", "no valid token")
			return false
		}
		scope, _ := claims["scope"].(string)
		if !strings.Contains(scope, "/"+typ+".") && !strings.Contains(scope, "/*.") {
			deny(w, http.StatusForbidden, "forbidden", "scope "+scope+" does not permit reading "+typ)
			return false
		}
		return true
	}
	mux.HandleFunc("GET /fhir/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r, "Patient") {
			return
		}
		if r.PathValue("id") != "9000000009" {
			deny(w, http.StatusNotFound, "not-found", "Patient/"+r.PathValue("id")+" is not known")
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		fmt.Fprint(w, `{"resourceType":"Patient","id":"9000000009","name":[{"family":"Smith","given":["Jane"]}]}`)
	})
	mux.HandleFunc("GET /fhir/Observation", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r, "Observation") {
			return
		}
		const total = 7
		offset, _ := strconv.Atoi(r.URL.Query().Get("_offset"))
		b := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": total}
		var entries []any
		for i := offset; i < min(offset+2, total); i++ {
			entries = append(entries, map[string]any{"resource": map[string]any{
				"resourceType": "Observation", "id": fmt.Sprintf("bp-%d", i+1),
				"subject": map[string]string{"reference": "Patient/" + r.URL.Query().Get("patient")}}})
		}
		b["entry"] = entries
		if offset+2 < total {
			next := fmt.Sprintf("http://%s/fhir/Observation?patient=%s&_offset=%d", r.Host, r.URL.Query().Get("patient"), offset+2)
			b["link"] = []any{map[string]string{"relation": "next", "url": next}}
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_ = json.NewEncoder(w).Encode(b)
	})
	return httptest.NewServer(mux)
}
