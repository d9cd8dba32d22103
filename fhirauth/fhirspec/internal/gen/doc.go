// Command gen writes the generated tables of package fhirspec.
//
//	go generate ./fhirauth/fhirspec   # runs: go run ./internal/gen -o resourcetypes_gen.go -c cardinality_gen.go -e elementtype_gen.go
//
// It lists the message types of the ContainedResource oneof in the
// google/fhir/go protos (the set of concrete resource types of each FHIR
// release), and, for every element path of the patient compartment tables
// (read through fhirspec's own API), the first element on it whose max
// cardinality is * (a repeated proto field; see internal/cardinality). It
// writes both as gofmt-ed Go source.
//
// Flags:
//
//	-o FILE   resource types output file (default resourcetypes_gen.go)
//	-c FILE   compartment path cardinality output file (default cardinality_gen.go)
package main
