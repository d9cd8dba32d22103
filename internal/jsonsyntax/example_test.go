package jsonsyntax_test

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

func ExampleValid() {
	fmt.Println(jsonsyntax.Valid([]byte(`{"resourceType":"Patient","id":"123"}`)))
	fmt.Println(jsonsyntax.Valid([]byte(`{"resourceType":"Patient",}`)))
	fmt.Println(jsonsyntax.Valid([]byte(`{"resourceType":"Patient"} {}`)))
	// Output:
	// true
	// false
	// false
}
