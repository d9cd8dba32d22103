// Package jsonsyntax is fhirwarden's one JSON syntax layer: the strict,
// allocation-free checks that fhirauth, fhirspec, middleware and token
// apply before they read JSON they make security decisions on.
//
//	if !jsonsyntax.Valid(body) {
//		return ErrNotJSON // what encoding/json.Valid would refuse
//	}
//	// body is one JSON value: scanners that assume well-formed input
//	// may read it now, and skip values fast with Skip.
//	end := jsonsyntax.ValidValue(doc, i, depth) // or validate one value while walking
//	end, plain := jsonsyntax.ScanStringPlain(doc, i) // a key, and whether it is written verbatim
//
// Valid accepts exactly the documents encoding/json.Valid accepts (fuzz
// tests in fhirspec and middleware compare them on random input), several
// times faster and without allocating, so a response check can validate a
// resource once instead of paying for encoding/json's state machine.
// ValidValue, SkipMembers, ScanString, ScanStringPlain, ScanNumber and
// SkipSpace are its parts, for readers that walk a document themselves
// and must accept the same documents (SkipMembers steps over the members
// of an object whose names a reader has no use for, validating them, in
// one call); Skip finds the end of a value in input already validated. Strings are not checked for UTF-8, as encoding/json.Valid
// does not check it.
package jsonsyntax
