// Command gen writes the resource type tables of package fhirspec.
//
//	go generate ./fhirauth/fhirspec   # runs: go run ./internal/gen -o resourcetypes_gen.go
//
// It lists the message types of the ContainedResource oneof in the
// google/fhir/go protos (the set of concrete resource types of each FHIR
// release) and writes them, sorted, as gofmt-ed Go source.
//
// Flags:
//
//	-o FILE   output file (default resourcetypes_gen.go)
package main
