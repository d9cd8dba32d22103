package fhirspec

// repeatingTables holds, per version, the generated map of compartment
// element paths ("Type.path") to their first repeating element.
//
// Source: cardinality_gen.go, written by internal/gen from the google/fhir/go
// v0.7.4 protos, which google/fhir generates from the StructureDefinitions
// of FHIR 3.0.1 and 4.0.1: an element of max cardinality * is a repeated
// field there. TestCardinalityMatchesProtos guards the file against drift.
var repeatingTables = [...]map[string]string{
	STU3: stu3Repeating,
	R4:   r4Repeating,
}

// repeatingOf looks path of type t up in the table of v.
func repeatingOf(v Version, t, path string) (elem string, known bool) {
	if !v.Valid() {
		return "", false
	}
	elem, known = repeatingTables[v][t+"."+path]
	return elem, known
}

// SingleValuedPath reports whether the compartment element path of
// resource type t (as CompartmentParam.Paths lists it, e.g.
// "participant.actor") reaches its Reference through elements that all
// have max cardinality 1 in version v, the Reference itself included, so
// that a resource holds at most one reference at that path. A search
// narrowed to Patient/X through such a path pins the reference there to X;
// through a repeating one (Group's "member.entity") it pins only one of
// them, and the others may name any patient.
//
// It reports false for a path that repeats and, failing closed, for every
// path, type or version whose cardinality it does not know (chained
// parameters and paths outside the patient compartment tables included).
func SingleValuedPath(v Version, t, path string) bool {
	elem, known := repeatingOf(v, t, path)
	return known && elem == ""
}

// RepeatingElement returns the first element of max cardinality * on the
// compartment element path of type t in version v, as a dotted path from
// the resource root ("member" for Group's "member.entity"), for messages
// that explain why a path is not single-valued. It returns "" for a
// single-valued path and for one it does not know (see SingleValuedPath).
func RepeatingElement(v Version, t, path string) string {
	elem, _ := repeatingOf(v, t, path)
	return elem
}
