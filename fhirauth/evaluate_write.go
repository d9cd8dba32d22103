package fhirauth

import (
	"errors"
	"net/http"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"

	"github.com/fhirwarden/fhirwarden/scope"
)

// create needs "c" (and "s" when conditional). Under patient context the
// body must be in exactly the context patient's compartment (not also in
// another patient's), and Patient resources are never created. A body
// with an id is refused unless the token could update that id anyway
// (createWithID), and one with a conditional reference the token may not
// search for too (conditionalReferences).
func (e *evaluation) create() (*Decision, denial) {
	req := e.req
	t := req.ResourceType
	letters, m, den := e.writePermit(scope.Create)
	if den.status != 0 {
		return nil, den
	}
	if e.inPatient() {
		switch e.class(t) {
		case classPatient:
			return nil, e.deny(http.StatusForbidden, "patient/ scopes never create Patient resources")
		case classCompartment:
			if den := e.bodyInCompartment(req.Body); den.status != 0 {
				return nil, den
			}
		case classShared:
			return nil, e.sharedWrite(t)
		default:
			return nil, e.outsideCompartment(t, "create")
		}
	}
	if den := e.conditionalReferences(); den.status != 0 {
		return nil, den
	}
	if m == scope.Constrained {
		if den := e.bodySatisfies(t, letters, req.Body); den.status != 0 {
			return nil, den
		}
	}
	if den := e.createWithID(t, letters); den.status != 0 {
		return nil, den
	}
	d := e.grant()
	if req.Conditional {
		if den := e.searchPart(d, t, req.IfNoneExist, letters, m); den.status != 0 {
			return nil, den
		}
		// A search that matches answers 200 with the resource found,
		// which nothing wrote. The narrowing (to the patient, to the
		// constraints) holds it to the token's reach only on a server
		// that matches as fhirauth does; medplum matches tokens without
		// regard to letter case, so category=laboratory finds a
		// "Laboratory" Observation. So the answer, a single resource,
		// must pass the read check, as the resource created does.
		d.response = responseCheck{}
		if e.inPatient() || m == scope.Constrained {
			e.checkResponse(d, responseCheck{on: true, expectType: t, letters: letters,
				compartment: e.inPatient(), expectCompartment: e.class(t) == classCompartment})
		}
	}
	return d, denial{}
}

// createWithID refuses a create whose body has an id, unless the token
// may also update any resource of type t without constraints outside
// patient context (then the create could be no more than a PUT it may
// send). FHIR has a server ignore a created resource's id, but not every
// server does: medplum's stores the resource under that id, replacing
// the resource that has it, which no stored-version check has seen (it
// may be another patient's, or outside the scope's constraints).
func (e *evaluation) createWithID(t string, letters scope.Permission) denial {
	if !e.inPatient() && e.permit(t, letters|scope.Update) == scope.Unconstrained {
		return denial{}
	}
	id, err := bodyID(e.req.Body)
	if err != nil {
		return denial{status: http.StatusBadRequest, code: "invalid", reason: "the resource to create cannot be read: " + err.Error()}
	}
	if id == "" {
		return denial{}
	}
	return e.deny(http.StatusForbidden, "the %s to create has an id; some servers store a created resource under its id, replacing the resource that has it, which this token may not update; send it without id, or update by id (PUT %s/[id])", t, t)
}

// update covers update and patch: "u" (and "s" when conditional). A patch
// also needs "r": its answer reads the stored resource (the patched
// resource comes back, and whether a JSON Patch "test" operation held
// says what a field holds), so a write-only token would read through it.
// An update
// that turns out to create (update-as-create) also needs "c", granted
// with the update's letters by one scope whose constraints, if it has
// any, the body satisfies, as a create of the same body would need
// (updateMayCreate): the stored-version check enforces that when it does
// not hold, since only the server knows whether the resource exists (a
// conditional update's search too: it creates when nothing matches).
//
// Under patient context: Patient resources only for the context patient;
// compartment types need the body (update) in exactly the patient's
// compartment and the stored version too (CheckStored), so a resource of
// another patient can neither be overwritten nor moved into or out of the
// compartment; a patch must not touch the compartment reference elements.
// Neither may hold a conditional reference the token may not search for
// (conditionalReferences). No patch, whatever the token, may change the
// resource's id or resourceType (identityElements).
func (e *evaluation) update() (*Decision, denial) {
	req := e.req
	t := req.ResourceType
	need := scope.Update
	if req.Interaction == Patch {
		need |= scope.Read
	}
	letters, m, den := e.writePermit(need)
	if den.status != 0 {
		return nil, den
	}
	if req.Interaction == Patch {
		if den := e.patchAvoids(identityElements, "which resource is written"); den.status != 0 {
			return nil, den
		}
	}
	sc := storedCheck{typ: t, letters: letters}
	if req.Interaction == Update {
		ok, den := e.updateMayCreate(t, letters)
		if den.status != 0 {
			return nil, den
		}
		sc.createAllowed = ok
	}
	if e.inPatient() {
		switch e.class(t) {
		case classPatient:
			if den := e.otherPatient(); den.status != 0 {
				return nil, den
			}
			sc.createAllowed = false
			if req.Conditional {
				sc.on, sc.compartment = true, true
			}
			if den := e.writeBody(t); den.status != 0 {
				return nil, den
			}
		case classCompartment:
			if den := e.writeBody(t); den.status != 0 {
				return nil, den
			}
			sc.on, sc.compartment = true, true
		case classShared:
			return nil, e.sharedWrite(t)
		default:
			return nil, e.outsideCompartment(t, string(req.Interaction.String()))
		}
	}
	if den := e.conditionalReferences(); den.status != 0 {
		return nil, den
	}
	if m == scope.Constrained {
		if req.Interaction == Update {
			if den := e.bodySatisfies(t, letters, req.Body); den.status != 0 {
				return nil, den
			}
		} else if den := e.patchAvoids(e.constraintElements(t, letters), "a v2 scope constraint"); den.status != 0 {
			return nil, den
		}
		if !e.constraintsCheckable(t, letters) {
			return nil, e.unenforceable(t, letters, req.Interaction.String())
		}
		sc.on = true
	}
	if req.Interaction == Update && !sc.createAllowed {
		sc.on = true
	}
	return e.grantWrite(sc, letters, m)
}

// updateMayCreate reports whether an update with letters may create its
// target when it does not exist. A create needs "c"; here one scope must
// grant it together with letters, and when that is only under
// constraints, the body must satisfy one of the alternatives granting
// both. Checking only the alternatives that grant the update's letters
// would let a PUT create what a POST of the same body is refused: under
// "cu?category=laboratory u", a social-history Observation.
func (e *evaluation) updateMayCreate(t string, letters scope.Permission) (bool, denial) {
	switch e.permit(t, letters|scope.Create) {
	case scope.Denied:
		return false, denial{}
	case scope.Unconstrained:
		return true, denial{}
	}
	alts := e.alternatives(t, letters|scope.Create)
	if e.req.Conditional {
		alts = withoutID(alts) // it creates when its search finds nothing
	}
	ok, _, err := constraintsHold(e.p.version, t, e.req.Body, alts, e.replacedLink())
	if err != nil {
		return false, denial{status: http.StatusBadRequest, code: "invalid", reason: "cannot evaluate the scope constraints on the resource: " + err.Error()}
	}
	return ok, denial{}
}

// identityElements name the resource a patch writes. FHIR has a server
// refuse a patch that changes them, but not every server does: medplum
// stores the patched resource under its new type and id, creating or
// replacing a resource no check has seen (a Condition for a token without
// Condition scopes, another patient's or a constrained-out Observation).
var identityElements = []string{"id", "resourceType"}

// writeBody checks an update body or a patch under patient context (a
// patch's identityElements are checked for every token in update).
func (e *evaluation) writeBody(t string) denial {
	if e.req.Interaction == Update {
		return e.bodyInCompartment(e.req.Body)
	}
	var elems []string
	if ci := e.p.compartment[t]; ci != nil {
		elems = ci.elements
	}
	return e.patchAvoids(elems, "the patient compartment")
}

// delete needs "d" (and "s" when conditional); under patient context the
// stored version (of a conditional delete of Patient too) must be in the
// compartment, and must exist: a delete of
// a missing resource is refused like one of another patient's (404 when
// the policy hides existence), or the answers would tell them apart.
func (e *evaluation) delete() (*Decision, denial) {
	req := e.req
	t := req.ResourceType
	letters, m, den := e.writePermit(scope.Delete)
	if den.status != 0 {
		return nil, den
	}
	sc := storedCheck{typ: t, letters: letters}
	if e.inPatient() {
		switch e.class(t) {
		case classPatient:
			if den := e.otherPatient(); den.status != 0 {
				return nil, den
			}
			if req.Conditional {
				// The narrowing _id=patient selects other Patients
				// on servers that match ids without regard to letter
				// case (medplum): the deleted one must be checked.
				sc.on, sc.compartment = true, true
			}
		case classCompartment:
			sc.on, sc.compartment = true, true
		case classShared:
			return nil, e.sharedWrite(t)
		default:
			return nil, e.outsideCompartment(t, "delete")
		}
	}
	if m == scope.Constrained {
		if !e.constraintsCheckable(t, letters) {
			return nil, e.unenforceable(t, letters, "delete")
		}
		sc.on = true
	}
	return e.grantWrite(sc, letters, m)
}

// bodyInCompartment requires the resource to be in exactly the context
// patient's compartment. In a Bundle, a compartment reference that the
// server replaces with one that may name another Patient (or that names a
// Patient and is replaced) proves nothing (replacedLinks).
func (e *evaluation) bodyInCompartment(body []byte) denial {
	var replaced func(string) bool
	if e.replaced != nil {
		replaced = e.replaced.mayBecomePatient
	}
	_, ids, err := e.p.matcher.PatientCompartmentsReplaced(body, replaced)
	if errors.Is(err, fhirspec.ErrUnverifiableReference) {
		return e.deny(http.StatusForbidden, "the resource's patient compartment cannot be verified (%v); patient/ scopes write only resources whose patient references are plain Patient/%s", err, e.patient)
	}
	if err != nil {
		return denial{status: http.StatusBadRequest, code: "invalid", reason: "cannot check the resource's patient compartment: " + err.Error()}
	}
	if len(ids) != 1 || ids[0] != e.patient {
		if len(ids) == 0 {
			return e.deny(http.StatusForbidden, "the resource does not refer to the token's patient (Patient/%s) in any patient-compartment element; patient/ scopes write only within that compartment", e.patient)
		}
		return e.deny(http.StatusForbidden, "the resource refers to another patient in a patient-compartment element; patient/ scopes write only resources of Patient/%s", e.patient)
	}
	return denial{}
}

// sharedWrite denies a write to a type that the policy shares with
// patient/ scopes: sharing lets patients read reference data (a
// Practitioner, a Medication) that every patient's records point to; a
// patient changing it would change every other patient's records.
func (e *evaluation) sharedWrite(t string) denial {
	return e.deny(http.StatusForbidden, "%s is shared with patient/ scopes for reading only; patient/ scopes cannot %s it", t, e.req.Interaction)
}

// writePermit is what a write needs on its type (writeLetters) and how the
// token's scopes match it, or the denial naming the missing scope.
func (e *evaluation) writePermit(base scope.Permission) (scope.Permission, scope.Match, denial) {
	t := e.req.ResourceType
	letters := e.writeLetters(base)
	m := e.permit(t, letters)
	if m == scope.Denied {
		return letters, m, e.missing(t, letters, "")
	}
	return letters, m, denial{}
}

// otherPatient denies an update, patch or delete by id of a Patient other
// than the context patient. A conditional one is checked on the stored
// version (CheckStored).
func (e *evaluation) otherPatient() denial {
	if !e.req.Conditional && e.req.ID != e.patient {
		return e.deny(http.StatusForbidden, "patient/ scopes never %s a Patient other than the token's patient (Patient/%s)", e.req.Interaction, e.patient)
	}
	return denial{}
}

// writeLetters is what a write needs on its type: base, plus "s" when it
// is conditional (the server searches to find or rule out its target).
func (e *evaluation) writeLetters(base scope.Permission) scope.Permission {
	if e.req.Conditional {
		return base | scope.Search
	}
	return base
}

// grantWrite grants an update, patch or delete: with its stored-version
// check when sc is on, and for a conditional write with the checks of
// its search part (the query selects the resource written).
func (e *evaluation) grantWrite(sc storedCheck, letters scope.Permission, m scope.Match) (*Decision, denial) {
	d := e.grant()
	if sc.on {
		d.stored = sc
	}
	if e.req.Conditional {
		if den := e.searchPart(d, e.req.ResourceType, e.req.Params, letters, m); den.status != 0 {
			return nil, den
		}
	}
	return d, denial{}
}
