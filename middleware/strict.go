package middleware

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// errAmbiguousObject is returned by strictObject for objects that JSON
// parsers read differently.
var errAmbiguousObject = errors.New("middleware: JSON object with duplicate or case-variant keys")

// strictObject decodes the members of one JSON object (and nothing after
// it) with jsonsyntax's object reader. Names that parsers may take for
// one (jsonsyntax.ErrDuplicateName: equal, escaped or not, or equal under
// the Unicode case folding Go's encoding/json matches keys by) and names
// that are not valid UTF-8 are errAmbiguousObject: whatever the
// middleware checked might not be what a client reads. The values share
// raw's memory.
func strictObject(raw []byte) (map[string]json.RawMessage, error) {
	members := make(map[string]json.RawMessage)
	obj := jsonsyntax.ReadObject(raw, 0, 0)
	for obj.Next() {
		name := string(obj.Name())
		members[name] = obj.Value()
	}
	switch err := obj.Done(true); {
	case errors.Is(err, jsonsyntax.ErrDuplicateName), errors.Is(err, jsonsyntax.ErrInvalidString):
		return nil, fmt.Errorf("%w: %w", errAmbiguousObject, err)
	case err != nil:
		return nil, fmt.Errorf("middleware: malformed JSON object: %w", err)
	}
	return members, nil
}

// stringMember returns the string value of member key ("" and false when
// it is absent or not a string).
func stringMember(m map[string]json.RawMessage, key string) (string, bool) {
	return stringValue(m[key])
}

// isOperationOutcome reports whether body is unambiguously an
// OperationOutcome that carries no other resources (nothing contained,
// under any case of the name): the only kind of body the middleware passes
// unchecked on error statuses.
func isOperationOutcome(body []byte) bool {
	oo := false
	obj := jsonsyntax.ReadObject(body, 0, 0)
	for obj.Next() {
		name := obj.Name()
		if jsonsyntax.FoldEqual(name, "contained") {
			return false
		}
		if string(name) == "resourceType" {
			oo = isString(obj.Value(), "OperationOutcome")
		}
	}
	return oo && obj.Done(true) == nil
}
