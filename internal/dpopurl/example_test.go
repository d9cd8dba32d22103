package dpopurl_test

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/dpopurl"
)

func ExampleNormalize() {
	a, _ := dpopurl.Normalize("HTTPS://FHIR.example.org:443/fhir/Patient/%7e1")
	b, _ := dpopurl.Normalize("https://fhir.example.org/fhir/Patient/~1")
	fmt.Println(a, a == b)
	_, err := dpopurl.Normalize("https://fhir.example.org/fhir?x=1")
	fmt.Println(err)
	// Output:
	// https://fhir.example.org/fhir/Patient/~1 true
	// htu has a query or fragment
}
