package sample_test

import (
	"fmt"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/sample"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

func Example() {
	v, _ := store.NewValidator(fhirversion.STU3)
	s, _ := store.New(v)
	if err := sample.Load(s); err != nil {
		panic(err)
	}
	for _, p := range sample.Patients() {
		fmt.Println(p.ID, p.Name, p.NHSNumber, sample.ValidNHSNumber(p.NHSNumber))
	}
	// Output:
	// 1 Amelia Jones 9990000018 true
	// 2 Oliver Smith 9990000026 true
	// 3 Priya Patel 9990000034 true
}

func ExampleNHSCheckDigit() {
	d, ok := sample.NHSCheckDigit("943476591")
	fmt.Println(string(d), ok)
	_, ok = sample.NHSCheckDigit("000000006") // check digit would be 10: never issued
	fmt.Println(ok)
	// Output:
	// 9 true
	// false
}
