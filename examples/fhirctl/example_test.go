package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// Example runs fhirctl in-process, as a shell would run
// "fhirctl get Patient/9000000009": it discovers the token endpoint from
// the FHIR server's SMART configuration, gets a token with the client
// credentials grant, reads the resource and prints it as pretty JSON. A
// read the token's scopes do not allow prints the OperationOutcome's
// diagnostics on stderr and exits 1.
func Example() {
	iss := tokentest.NewIssuer(tokentest.WithClient("patient-access", "s3cret", "user/Patient.read"))
	defer iss.Close()
	fhir := httptest.NewServer(exampleFHIRServer(iss))
	defer fhir.Close()

	env := map[string]string{
		"FHIR_BASE":          fhir.URL + "/fhir",
		"FHIR_CLIENT_ID":     "patient-access",
		"FHIR_CLIENT_SECRET": "s3cret",
	}
	getenv := func(k string) string { return env[k] }
	// Error messages name the server's URL; its port differs from run to run.
	stderr := urlHidingWriter{w: os.Stdout, url: fhir.URL, as: "http://fhir.example"}

	code := run(context.Background(), []string{"get", "Patient/9000000009"}, strings.NewReader(""), os.Stdout, stderr, getenv)
	fmt.Println("exit status", code)

	code = run(context.Background(), []string{"get", "Observation/1"}, strings.NewReader(""), os.Stdout, stderr, getenv)
	fmt.Println("exit status", code)
	// Output:
	// {
	//   "resourceType": "Patient",
	//   "id": "9000000009",
	//   "name": [
	//     {
	//       "family": "Smith",
	//       "given": [
	//         "Jane"
	//       ]
	//     }
	//   ]
	// }
	// exit status 0
	// fhirctl: GET http://fhir.example/fhir/Observation/1: HTTP 403 Forbidden
	//   error forbidden: scope does not allow reading Observation
	// exit status 3
}

// exampleFHIRServer is the smallest FHIR server fhirctl can talk to: a
// SMART configuration naming a token endpoint on its own origin, which
// forwards to iss, and reads of one Patient, allowed to tokens of iss
// whose scope names Patient.
func exampleFHIRServer(iss *tokentest.Issuer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := iss.AuthServer().SMARTConfiguration()
		doc["token_endpoint"] = "http://" + r.Host + "/token"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.Handle("POST /token", tokenProxy(iss))
	mux.HandleFunc("GET /fhir/{type}/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		claims, active := iss.Introspect(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		scope, _ := claims["scope"].(string)
		typ := r.PathValue("type")
		switch {
		case !active:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`)
		case !strings.Contains(scope, "/"+typ+"."):
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden",`+
				`"diagnostics":"scope does not allow reading `+typ+`"}]}`)
		case typ == "Patient" && r.PathValue("id") == "9000000009":
			_, _ = io.WriteString(w, `{"resourceType":"Patient","id":"9000000009","name":[{"family":"Smith","given":["Jane"]}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
		}
	})
	return mux
}

// urlHidingWriter writes to w with url replaced by as.
type urlHidingWriter struct {
	w       io.Writer
	url, as string
}

func (u urlHidingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(u.w, strings.ReplaceAll(string(p), u.url, u.as)); err != nil {
		return 0, err
	}
	return len(p), nil
}
