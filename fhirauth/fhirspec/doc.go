// Package fhirspec holds the FHIR facts fhirauth decides with: the resource
// types of STU3 and R4, and the official patient CompartmentDefinition with
// the element paths of its search parameters, plus a fast, fail-closed
// check of whether a FHIR JSON resource is in a patient's compartment.
//
//	v, _ := fhirspec.ParseVersion("4.0.1")
//	fhirspec.IsResourceType(v, "Observation") // true; "observation" is false
//	params, ok := fhirspec.PatientCompartment(v, "Observation")
//	// ok == true; params: subject [subject], patient [subject], performer [performer]
//	m, _ := fhirspec.NewMatcher(v, fhirspec.WithBaseURL("https://fhir.example.org/r4"))
//	in, err := m.InPatientCompartment(body, "123")
//	if err != nil || !in {
//		// deny: malformed, ambiguous, or not Patient/123's resource
//	}
//
// # Sources
//
// Resource types come from the ContainedResource oneof of the
// github.com/google/fhir/go v0.7.4 protos (generated into
// resourcetypes_gen.go by internal/gen; run go generate). The patient
// compartments are transcribed in compartment_stu3.go and compartment_r4.go,
// each citing its CompartmentDefinition and SearchParameter sources. The
// max cardinality of the elements on each compartment path
// (SingleValuedPath) is read from the same protos, where an element of max
// cardinality * is a repeated field, into cardinality_gen.go (go generate).
// The elements each token, reference and uri search parameter searches
// (SearchPaths, for fhirauth's scope constraints) are read from the
// releases' SearchParameter definitions, with their data types from the
// same protos, into searchparams_gen.go (internal/gen -spec), and so are
// the names of every search parameter of each type (IsSearchParam, which
// tells fhirauth that a search carries a parameter the release does not
// define); RelativeReference parses a reference as the compartment walker does,
// for matching reference constraints.
//
// # Membership rules
//
// InPatientCompartment reads raw JSON bytes (no map, no allocations for
// typical resources) and follows only the compartment paths of the
// resource's own type. Only "Patient/<id>" and "Patient/<id>/_history/<vid>"
// references count, plus absolute ones under a base URL the caller
// configured; references of other servers, urn:uuid, contained and
// conditional references, references outside the compartment elements and
// inside contained resources never do. Duplicate or case-variant keys in
// any object read on the way (the root, the deciding elements), and a case
// variant of a deciding element even alone, make the resource ambiguous
// (an error), since parsers disagree about which copy wins.
package fhirspec
