package jsonsyntax_test

import (
	"errors"
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

func ExampleReadObject() {
	obj := jsonsyntax.ReadObject([]byte(`{"resourceType":"Patient","\u0069d":"123"}`), 0, 0)
	for obj.Next() {
		fmt.Printf("%s = %s\n", obj.Name(), obj.Value())
	}
	fmt.Println(obj.Done(true))

	obj = jsonsyntax.ReadObject([]byte(`{"resourceType":"Patient","reſourceType":"Bundle"}`), 0, 0)
	fmt.Println(errors.Is(obj.Done(true), jsonsyntax.ErrDuplicateName))
	// Output:
	// resourceType = "Patient"
	// id = "123"
	// <nil>
	// true
}
