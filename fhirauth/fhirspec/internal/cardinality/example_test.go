package cardinality_test

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec/internal/cardinality"
)

// Group's member.entity reaches its Reference through the repeating
// member; Observation's subject is a single Reference.
func ExampleRepeating() {
	resources, err := cardinality.Resources("R4")
	if err != nil {
		panic(err)
	}
	for _, c := range []struct{ typ, path string }{{"Group", "member.entity"}, {"Observation", "subject"}} {
		elem, err := cardinality.Repeating(resources[c.typ], c.path)
		fmt.Printf("%s.%s: %q %v\n", c.typ, c.path, elem, err)
	}
	// Output:
	// Group.member.entity: "member" <nil>
	// Observation.subject: "" <nil>
}
