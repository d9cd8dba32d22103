package authserver

import "github.com/fhirwarden/fhirwarden/internal/jsonsyntax"

// checkMemberNames refuses a JSON document in which some object has two
// members whose names are equal once unquoted or under the case folding
// encoding/json matches struct fields with (jsonsyntax's one rule), so
// that a registration is read as a person reads it rather than by the
// last of two "scope" members, or by a "Scope" below a "scope". Syntax
// errors are left to the decoder, which words them better.
func checkMemberNames(data []byte) error {
	if !jsonsyntax.Valid(data) {
		return nil
	}
	_, err := walkMemberNames(data, 0)
	return err
}

// walkMemberNames checks the value at data[i] and every value inside it,
// returning the index after it.
func walkMemberNames(data []byte, i int) (int, error) {
	i = jsonsyntax.SkipSpace(data, i)
	if i >= len(data) {
		return i, nil
	}
	switch data[i] {
	case '{':
		obj := jsonsyntax.ReadValidObject(data, i)
		for obj.Next() {
			at, _ := obj.ValueStart()
			end, err := walkMemberNames(data, at)
			if err != nil {
				return 0, err
			}
			obj.SkipTo(end)
		}
		if err := obj.Err(); err != nil {
			return 0, err
		}
		return obj.End(), nil
	case '[':
		arr := jsonsyntax.ReadValidArray(data, i)
		for arr.Next() {
			at, _ := arr.ValueStart()
			end, err := walkMemberNames(data, at)
			if err != nil {
				return 0, err
			}
			arr.SkipTo(end)
		}
		if err := arr.Err(); err != nil {
			return 0, err
		}
		return arr.End(), nil
	}
	return jsonsyntax.Skip(data, i), nil
}
