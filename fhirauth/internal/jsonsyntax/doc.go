// Package jsonsyntax checks JSON syntax fast, for the packages of
// fhirauth that must refuse malformed FHIR JSON before reading it.
//
//	if !jsonsyntax.Valid(body) {
//		return ErrNotJSON // what encoding/json.Valid would refuse
//	}
//	// body is one JSON value: scanners that assume well-formed input
//	// may read it now.
//
// Valid accepts exactly the documents encoding/json.Valid accepts (a fuzz
// test in package fhirspec compares them on random input), several times
// faster and without allocating, so a response check can validate a
// resource once instead of paying for encoding/json's state machine.
package jsonsyntax
