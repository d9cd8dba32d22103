package hunt_test

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/hunt"
)

func ExampleInCompartment() {
	elements := map[string][]string{"Observation": {"subject", "performer"}}
	obs := map[string]any{
		"resourceType": "Observation",
		"subject":      map[string]any{"reference": "http://fhir.example/Patient/p1/_history/2"},
		"performer":    []any{map[string]any{"reference": "Patient/p2"}},
	}
	ok, why := hunt.InCompartment(obs, elements, "p1", hunt.PatientRef)
	fmt.Println(ok, why)
	obs["performer"] = []any{map[string]any{"reference": "Practitioner/d1"}}
	ok, _ = hunt.InCompartment(obs, elements, "p1", hunt.PatientRef)
	fmt.Println(ok)
	fmt.Println(hunt.RecaseName(`{"subject":{}}`, "subject"), hunt.EscapeName(`{"subject":{}}`, "subject"))
	// Output:
	// false its compartment references are ["Patient/p1" "Patient/p2"]
	// true
	// {"Subject":{}} {"s\u0075bject":{}}
}
