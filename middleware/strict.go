package middleware

import (
	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

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
