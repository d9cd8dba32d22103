// Command outcomegen writes the OperationOutcome templates of package
// fhirauth.
//
//	go generate ./fhirauth   # runs: go run ./internal/outcomegen -o outcome_gen.go
//
// For every IssueType code of FHIR STU3 and R4 it marshals, with
// google/fhir/go (package outcomemodel), an OperationOutcome whose one
// error issue carries a placeholder as diagnostics, splits the document
// around the placeholder and writes the two halves as gofmt-ed Go source.
// fhirauth then answers without loading google/fhir/go at run time; its
// tests check every template against a fresh marshal.
//
// Flags:
//
//	-o FILE   output file (default outcome_gen.go)
package main
