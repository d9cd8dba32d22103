package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// DPoP-bound tokens: one option. The token is bound to the client's key
// (cnf.jkt), and each request carries a fresh proof signed by that key.
func ExampleWithDPoP() {
	idp := tokentest.NewIssuer()
	defer idp.Close()
	verifier, err := token.NewVerifier(context.Background(), token.Config{
		Issuer: idp.URL, Audience: idp.Audience(), JWKSURL: idp.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer verifier.Close()
	policy, _ := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	secure, err := middleware.New(verifier, policy, middleware.WithDPoP(middleware.DPoPConfig{
		ExternalURL: "https://fhir.example.org", // what clients address, behind the proxy
	}))
	if err != nil {
		panic(err)
	}
	h := secure.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"resourceType":"Patient","id":"1"}`)
	}))

	key, _ := client.GenerateDPoPKey()
	tok := idp.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	send := func(withProof bool) {
		r := httptest.NewRequest(http.MethodGet, "/fhir/Patient/1", nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		if withProof {
			proof, _ := key.Proof(http.MethodGet, "https://fhir.example.org/fhir/Patient/1", tok, "")
			r.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	send(true)
	send(false)
	// Output:
	// 200
	// 401
}
