package doccheck_test

import (
	"fmt"
	"log"

	"github.com/fhirwarden/fhirwarden/internal/doccheck"
)

// Check reports each breach with file:line. testdata/example/lib has an
// undocumented func and no runnable Example.
func ExampleCheck() {
	findings, err := doccheck.Check("testdata/example")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// lib/doc.go:4: package lib (lib) has no runnable Example (a func Example... with an // Output: comment in a _test.go file)
	// lib/lib.go:5: exported func Parse has no doc comment
}
