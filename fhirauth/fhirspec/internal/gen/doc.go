// Command gen writes the generated tables of package fhirspec.
//
//	go generate ./fhirauth/fhirspec   # runs: go run ./internal/gen -o resourcetypes_gen.go -c cardinality_gen.go -s searchparams_gen.go -spec=$FHIR_SPEC
//
// It lists the message types of the ContainedResource oneof in the
// google/fhir/go protos (the set of concrete resource types of each FHIR
// release), and, for every element path of the patient compartment tables
// (read through fhirspec's own API), the first element on it whose max
// cardinality is * (a repeated proto field; see internal/cardinality). It
// writes both as gofmt-ed Go source.
//
// With -spec it also writes the search parameter tables. The first holds,
// for every token, reference and uri SearchParameter of FHIR 3.0.1 and
// 4.0.1 whose FHIRPath expression is a plain element path (optionally
// cast with "as" or limited with where(resolve() is T)), the elements it
// searches on each base type, with their data types and repeating
// segments from the protos. Parameters of any other form are left out, so
// that fhirauth refuses constraints on them. The second holds the names
// of every SearchParameter, of any parameter type, per resource type, and
// those for every resource type (based on Resource or DomainResource,
// plus _list, _has, _type and _filter, which the search page defines
// without a SearchParameter resource). The SearchParameter definitions
// are not in a Go module; they are in the spec directory of
// github.com/google/fhir, which go generate reads from $FHIR_SPEC:
//
//	FHIR_SPEC=/path/to/google-fhir/spec go generate ./fhirauth/fhirspec
//
// A test of this package compares the generated files with what it
// writes (searchparams_gen.go only when FHIR_SPEC is set).
//
// Flags:
//
//	-o FILE     resource types output file (default resourcetypes_gen.go)
//	-c FILE     compartment path cardinality output file (default cardinality_gen.go)
//	-s FILE     search parameter tables output file (default searchparams_gen.go)
//	-spec DIR   the spec directory holding hl7.fhir.core/3.0.1/package and
//	            hl7.fhir.core/4.0.1/package (empty: the tables are kept)
package main
