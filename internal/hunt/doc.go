// Package hunt holds what fhirwarden's seeded write hunts share: the
// oracle that judges a resource written under a patient token, and the
// pieces of the write grammar that spell the same thing in hostile ways.
// The hunts (examples/careconnect/server and interop/medplum) keep their
// own generators, tokens and servers; this package has no state and
// draws randomness only from the *rand.Rand it is given, so a hunt's seed
// still replays its writes.
//
//	ok, why := hunt.InCompartment(resource, elements, "p1", hunt.PatientRef)
//	if !ok {
//		t.Errorf("write allowed outside the compartment: %s", why)
//	}
//	body = hunt.RecaseName(body, hunt.PatientElement("Observation")) // "Subject"
//
// The oracle reads a resource as stored (decoded JSON): PatientRefs
// collects the references under a value that name a Patient, normalized
// to "Patient/id" whatever the base or version, and keeps a reference
// that names nothing plainly as written behind a "?", so that a check
// comparing against one patient refuses it. IsLaboratory and
// IsObservation are the rights of the hunts' Observation scopes.
// Transactions are judged whole: Atomicity refuses a transaction answered
// other than 2xx that changed the store, and one answered 2xx without a
// 2xx answer for every entry fhirauth let through; AnswerResources are
// the resources a write answered with, which must be within the token's
// rights as what it wrote must (a conditional create that matched
// answers what its search found).
//
// The grammar pieces rewrite a JSON body as text where a JSON reader may
// read it differently from the server: a member repeated at the end
// (RepeatMember), a member name with a \u escape (EscapeName), a member
// name in another letter case (RecaseName); SwapCase and URN draw id and
// placeholder spellings.
package hunt
