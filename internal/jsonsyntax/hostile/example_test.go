package hostile_test

import (
	"encoding/json"
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax/hostile"
)

func Example() {
	// encoding/json v1 accepts most of the cases the library refuses.
	for _, c := range hostile.Objects[:6] {
		fmt.Printf("%-32s refused: %-5v encoding/json.Valid: %v\n", c.Name, c.Refused, json.Valid([]byte(c.Doc)))
	}
	// Output:
	// plain                            refused: false encoding/json.Valid: true
	// exact duplicate                  refused: true  encoding/json.Valid: true
	// escaped duplicate                refused: true  encoding/json.Valid: true
	// escaped duplicate, escape first  refused: true  encoding/json.Valid: true
	// case variant of an element no check reads refused: true  encoding/json.Valid: true
	// long s variant of an element no check reads refused: true  encoding/json.Valid: true
}
