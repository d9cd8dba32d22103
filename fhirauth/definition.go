package fhirauth

import (
	"net/http"

	"github.com/fhirwarden/fhirwarden/scope"
)

// serverDefinition says what a resource of type t changes on a server
// that honours it, for every user at once, or "" for the other types.
// Behind a gateway such a write outlives the token and the policy: a
// SearchParameter that redefines "category" (HAPI lets one override a
// built-in parameter) turns the narrowing fhirauth adds for a
// constrained token into another search, a CompartmentDefinition moves
// resources into or out of the patient compartment, an
// OperationDefinition can define what an operation runs (medplum runs
// the Bot one names as that operation), under a name the policy may have
// registered with rules written for another meaning, and a
// SubscriptionTopic (R4B, R5) says what its Subscriptions deliver. The
// types the policy's release lacks never get here: Classify refuses
// them.
func serverDefinition(t string) string {
	switch t {
	case "SearchParameter":
		return "a SearchParameter can change what a search parameter means on the server (those fhirauth narrows searches with included)"
	case "CompartmentDefinition":
		return "a CompartmentDefinition can change which resources the server puts in a patient's compartment"
	case "OperationDefinition":
		return "an OperationDefinition can change what an operation does on the server"
	case "SubscriptionTopic":
		return "a SubscriptionTopic says what the server delivers to the Subscriptions on it"
	}
	return ""
}

// definitionWrite decides a write of a type serverDefinition names: it
// needs, besides what the write needs anyway, a system/ scope naming the
// type (not "*") that grants its letters without constraints. Such a
// write changes the server for every user, so neither a user's scopes
// nor a wildcard that grants every type is taken to mean it. An update
// of a missing resource creates it, which needs such a scope's "c" too
// (else the stored-version check refuses the missing target).
func (e *evaluation) definitionWrite() (*Decision, denial) {
	t := e.req.ResourceType
	base := scope.Create
	switch e.req.Interaction {
	case Update:
		base = scope.Update
	case Patch:
		base = scope.Update | scope.Read
	case Delete:
		base = scope.Delete
	}
	letters := e.writeLetters(base)
	if e.c != scope.System || e.namedSystemLetters(t)&letters != letters {
		return nil, denial{status: http.StatusForbidden, code: "forbidden", needed: neededScope(scope.System, t, letters),
			reason: serverDefinition(t) + ", for every user; to " + e.req.Interaction.String() + " a " + t +
				" a token needs " + neededScope(scope.System, t, letters) + " (a system/ scope naming the type, without constraints; user/, patient/ and * scopes do not count)"}
	}
	d, den := e.write()
	if d != nil && e.req.Interaction == Update && e.namedSystemLetters(t)&scope.Create == 0 {
		d.stored.on, d.stored.createAllowed = true, false
		d.stored.typ, d.stored.letters = t, letters
	}
	return d, den
}

// namedSystemLetters are the letters the token's unconstrained system/
// scopes that name type t grant on it.
func (e *evaluation) namedSystemLetters(t string) scope.Permission {
	var have scope.Permission
	for _, sc := range e.set.Scopes() {
		if sc.Context == scope.System && sc.ResourceType == t && len(sc.Constraints) == 0 {
			have |= sc.Permissions
		}
	}
	return have
}
