package tokentest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// A test issuer with one client: get a token by client credentials with the
// client authenticated by HTTP Basic, then see what the issuer recorded.
func ExampleNewIssuer() {
	iss := tokentest.NewIssuer(tokentest.WithClient("patient-access", "s3cret", "user/Patient.read"))
	defer iss.Close()

	req, _ := http.NewRequest(http.MethodPost, iss.TokenURL(), strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("patient-access", "s3cret")
	res, err := iss.HTTPClient().Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var tok struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Scope     string `json:"scope"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	fmt.Println(res.StatusCode, tok.TokenType, tok.ExpiresIn, tok.Scope)

	rec := iss.TokenRequests()[0]
	fmt.Println("secret in body:", rec.Form.Has("client_secret"))
	// Output:
	// 200 Bearer 5400 user/Patient.read
	// secret in body: false
}

// Mint a token directly, with chosen claims, for a verifier under test.
func ExampleIssuer_Mint() {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	tok := iss.Mint(map[string]any{"sub": "Practitioner/1", "scope": "user/*.rs"})
	claims, active := iss.Introspect(tok)
	fmt.Println(active, claims["iss"] == iss.URL, claims["aud"], claims["scope"])
	// Output: true true https://fhir.example.test/fhir user/*.rs
}
