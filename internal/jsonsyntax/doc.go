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
// ValidValue, ScanString, ScanStringPlain, ScanNumber and SkipSpace are
// its parts, for the readers below and for decoders of values they
// return; Skip finds the end of a value in input already validated.
// Valid does not check strings for UTF-8, as encoding/json.Valid does
// not.
//
// ObjectReader is the member iterator the packages read objects with,
// and ArrayReader its counterpart for arrays:
//
//	obj := jsonsyntax.ReadObject(doc, 0, 0)
//	for obj.Next() {
//		name, value := obj.Name(), obj.Value() // unquoted; validated
//	}
//	err := obj.Done(true) // ErrSyntax, ErrDuplicateName, ErrInvalidString, ErrTooDeep
//
// It holds the one rule for member names: two names that are equal once
// unquoted ("\u0061" is "a") or under the Unicode simple case folding
// encoding/json uses to match names to struct fields (FoldEqual: "ſ" is
// "s", the Kelvin sign "k") are ErrDuplicateName, and a name that is not
// valid UTF-8 once unquoted (a lone surrogate escape included) is
// ErrInvalidString. Unquote and StringValue apply the same UTF-8 rule to
// values. A reader that descends into a value itself (fhirspec's
// compartment walk, the middleware's Bundle rewriter) takes its start
// with ValueStart and reads it with another ObjectReader or ArrayReader;
// one that cannot (a rewriter of a stream) keeps the names it reads with
// ReadName in a NameSet: the same rule.
//
// Where it differs from encoding/json, deliberately and failing closed:
// v1 lets the last of duplicate names win and turns invalid UTF-8 into
// U+FFFD; v2 refuses both, as these readers do, but accepts names that
// differ only in case, which the readers refuse, because v1 (and many
// other parsers) would read either into one field. FuzzFoldMatchesEncodingJSON
// and FuzzObjectReaderMatchesV2 hold the readers to both.
package jsonsyntax
