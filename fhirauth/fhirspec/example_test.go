package fhirspec_test

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

func Example() {
	v, err := fhirspec.ParseVersion("4.0.1")
	if err != nil {
		panic(err)
	}
	fmt.Println(v, fhirspec.IsResourceType(v, "Observation"), fhirspec.IsResourceType(v, "observation"))

	params, ok := fhirspec.PatientCompartment(v, "Encounter")
	fmt.Println(ok, params)

	m, err := fhirspec.NewMatcher(v, fhirspec.WithBaseURL("https://fhir.example.org/r4"))
	if err != nil {
		panic(err)
	}
	for _, body := range []string{
		`{"resourceType":"Observation","subject":{"reference":"Patient/123"}}`,
		`{"resourceType":"Observation","subject":{"reference":"https://fhir.example.org/r4/Patient/123"}}`,
		`{"resourceType":"Observation","subject":{"reference":"http://evil.example/Patient/123"}}`,
		`{"resourceType":"Observation","subject":{"reference":"Patient/1234"}}`,
		`{"resourceType":"Observation","subject":{"reference":"Patient/123"},"subject":{"reference":"Patient/9"}}`,
	} {
		in, err := m.InPatientCompartment([]byte(body), "123")
		fmt.Println(in, err)
	}
	// Output:
	// R4 true false
	// true [{patient [subject]}]
	// true <nil>
	// true <nil>
	// false <nil>
	// false <nil>
	// false fhirspec: jsonsyntax: duplicate or case-variant member name at offset 68: "subject": ambiguous FHIR resource
}

func ExamplePatientCompartment() {
	for _, v := range []fhirspec.Version{fhirspec.STU3, fhirspec.R4} {
		params, _ := fhirspec.PatientCompartment(v, "AuditEvent")
		for _, p := range params {
			fmt.Println(v, p.Name, p.Paths, p.Chained())
		}
	}
	_, ok := fhirspec.PatientCompartment(fhirspec.R4, "Practitioner")
	fmt.Println("Practitioner:", ok)
	// Output:
	// STU3 patient [agent.reference entity.reference] false
	// STU3 agent.patient [] true
	// STU3 entity.patient [] true
	// R4 patient [agent.who entity.what] false
	// Practitioner: false
}

func ExampleMatcher_PatientCompartments() {
	m, _ := fhirspec.NewMatcher(fhirspec.R4)
	rt, ids, err := m.PatientCompartments([]byte(`{"resourceType":"Observation",
		"subject":{"reference":"Patient/a"},"performer":[{"reference":"Patient/b"}]}`))
	fmt.Println(rt, ids, err)
	// A write check can insist the resource names only the context patient.
	fmt.Println(len(ids) == 1 && ids[0] == "a")
	// Output:
	// Observation [a b] <nil>
	// false
}
