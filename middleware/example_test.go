package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// A complete secured FHIR server: a JWT verifier for the identity
// provider, a policy, the middleware around a standard library ServeMux.
func Example() {
	idp := tokentest.NewIssuer() // stands in for your identity provider
	defer idp.Close()

	verifier, err := token.NewVerifier(context.Background(), token.Config{
		Issuer: idp.URL, Audience: idp.Audience(), JWKSURL: idp.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer verifier.Close()
	policy, _ := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	secure, _ := middleware.New(verifier, policy)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/Patient/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"resourceType":"Patient","id":%q}`, r.PathValue("id"))
	})
	srv := httptest.NewServer(secure.Wrap(mux)) // or http.ListenAndServe(addr, secure.Wrap(mux))
	defer srv.Close()

	get := func(path, scope string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if scope != "" {
			req.Header.Set("Authorization", "Bearer "+idp.Mint(map[string]any{"sub": "u1", "scope": scope}))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		switch res.StatusCode {
		case http.StatusOK:
			fmt.Println(res.StatusCode, string(body))
		case http.StatusForbidden: // the challenge names the scope that would do
			_, scope, _ := strings.Cut(res.Header.Get("WWW-Authenticate"), "scope=")
			fmt.Println(res.StatusCode, "scope="+scope)
		default:
			fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	}
	get("/fhir/Patient/123", "")
	get("/fhir/Patient/123", "user/Patient.rs")
	get("/fhir/Patient/123", "user/Observation.rs")
	// Output:
	// 401 Bearer realm="fhir"
	// 200 {"resourceType":"Patient","id":"123"}
	// 403 scope="user/Patient.r"
}
