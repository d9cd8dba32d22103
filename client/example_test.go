package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/url"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Client credentials in ten lines: a token from the issuer (the client
// authenticated by HTTP Basic, the Care Connect default), then a read.
func Example_clientCredentials() {
	iss := tokentest.NewIssuer(tokentest.WithClient("patient-access", "s3cret", "user/Patient.read"))
	defer iss.Close()
	fhir := exampleFHIR(iss)
	defer fhir.Close()

	ts, err := client.ClientCredentials(iss.TokenURL(), "patient-access", "s3cret", client.WithScopes("user/Patient.read"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(fhir.URL+"/fhir", ts)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Read(context.Background(), "Patient", "9000000009")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.StatusCode, string(res.Body))
	// Output: 200 {"resourceType":"Patient","id":"9000000009","name":[{"family":"Smith","given":["Jane"]}]}
}

// SMART Backend Services in ten lines: the client signs an ES384 assertion
// with its private key; the issuer knows the public key.
func Example_backendServices() {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	fhir := exampleFHIR(iss)
	defer fhir.Close()
	raw, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	key, _ := jwk.Import(raw)
	_ = key.Set(jwk.KeyIDKey, "bulk-key-1")
	iss.AddKeyClient("bulk-export", key, "system/*.rs")

	ts, err := client.BackendServices(iss.TokenURL(), "bulk-export", key, client.WithScopes("system/Patient.rs"))
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(fhir.URL+"/fhir", ts)
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Read(context.Background(), "Patient", "9000000009")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.StatusCode, string(res.Body))
	// Output: 200 {"resourceType":"Patient","id":"9000000009","name":[{"family":"Smith","given":["Jane"]}]}
}

// Page through all Observations of a patient: Search follows the Bundle's
// next links (only those under the base URL) up to the page limit.
func ExampleClient_Search() {
	iss := tokentest.NewIssuer(tokentest.WithClient("clinician", "s3cret", "user/Observation.read"))
	defer iss.Close()
	fhir := exampleFHIR(iss)
	defer fhir.Close()
	ts, _ := client.ClientCredentials(iss.TokenURL(), "clinician", "s3cret")
	c, _ := client.New(fhir.URL+"/fhir", ts)

	params := url.Values{"patient": {"9000000009"}}
	for page, err := range c.Search(context.Background(), "Observation", params, client.MaxPages(10)) {
		if err != nil {
			log.Fatal(err)
		}
		for _, raw := range page.Matches() {
			var obs struct{ ID string }
			_ = json.Unmarshal(raw, &obs)
			fmt.Printf("page %d of %d: %s\n", page.Number, (*page.Total+1)/2, obs.ID)
		}
	}
	// Output:
	// page 1 of 4: bp-1
	// page 1 of 4: bp-2
	// page 2 of 4: bp-3
	// page 2 of 4: bp-4
	// page 3 of 4: bp-5
	// page 3 of 4: bp-6
	// page 4 of 4: bp-7
}

// A refusal is an *Error carrying the server's OperationOutcome.
func ExampleError() {
	iss := tokentest.NewIssuer(tokentest.WithClient("patient-access", "s3cret", "user/Patient.read"))
	defer iss.Close()
	fhir := exampleFHIR(iss)
	defer fhir.Close()
	ts, _ := client.ClientCredentials(iss.TokenURL(), "patient-access", "s3cret")
	c, _ := client.New(fhir.URL+"/fhir", ts)

	_, err := c.SearchAll(context.Background(), "Observation", url.Values{"patient": {"9000000009"}})
	var fe *client.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.StatusCode, errors.Is(err, client.ErrForbidden))
		for _, is := range fe.Outcome.Issues {
			fmt.Println(is.Severity, is.Code, is.Diagnostics)
		}
	}
	// Output:
	// 403 true
	// error forbidden scope user/Patient.read does not permit reading Observation
}

// A token endpoint refusal is an *OAuthError.
func ExampleOAuthError() {
	iss := tokentest.NewIssuer(tokentest.WithClient("patient-access", "s3cret", "user/Patient.read"))
	defer iss.Close()

	ts, _ := client.ClientCredentials(iss.TokenURL(), "patient-access", "s3cret", client.WithScopes("user/Observation.read"))
	_, err := ts.Token()
	var oe *client.OAuthError
	fmt.Println(errors.As(err, &oe), oe.Code, errors.Is(err, client.ErrInvalidScope))
	// Output: true invalid_scope true
}

// DPoP-bound tokens: one option on the token source. Its tokens are bound
// to the key, and a Client built on it signs a fresh proof for every
// request (each page, each retry).
func ExampleWithDPoP() {
	key, err := client.GenerateDPoPKey() // or client.LoadDPoPKey("dpop-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	ts, err := client.ClientCredentials("https://auth.example.org/oauth2/token", "app", "s3cret",
		client.WithDPoP(key), client.WithScopes("system/Patient.rs"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ts.DPoPKey().Algorithm(), len(ts.DPoPKey().Thumbprint()))
	// Output: ES256 43
}
