// Package outcomemodel builds fhirauth's OperationOutcomes with
// google/fhir/go's resource model and JSON marshaller.
//
//	docs, err := outcomemodel.Outcomes(fhirspec.R4, "no scope grants this")
//	if err != nil { ... }
//	fmt.Printf("%s\n", docs["forbidden"]) // {"issue":[{"code":"forbidden",...}],"resourceType":"OperationOutcome"}
//
// fhirauth answers with templates generated from these documents
// (fhirauth/internal/outcomegen writes outcome_gen.go) and its tests
// compare every answer with them, byte for byte. Only the generator and
// the tests import this package: importing google/fhir/go's jsonformat
// runs an init that builds tens of megabytes of lookup tables, which every
// program using fhirauth would otherwise carry (and its garbage collector
// scan) for the life of the process.
package outcomemodel
