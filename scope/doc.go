// Package scope parses and reasons about SMART App Launch scopes, versions
// 1.0 and 2.x, as one model.
//
//	set, err := scope.ParseSet(claims.Scope) // "openid launch/patient patient/*.read"
//	if err != nil {
//		return err // strict: one malformed scope rejects the token (fail closed)
//	}
//	switch set.Permits(scope.Patient, "Observation", scope.Search) {
//	case scope.Unconstrained: // search Observation within the patient compartment
//	case scope.Constrained: // only where a scope's query holds: see set.AppendConstraints
//	case scope.Denied: // 403
//	}
//
// # Grammar
//
// A resource scope is context/Type.permissions, where context is patient,
// user or system, Type is a FHIR resource type name or "*", and permissions
// are either SMART 1.0 "read", "write" or "*" or SMART 2.x letters: a
// non-empty subset of "cruds" (create, read, update, delete, search) written
// in that order, each at most once. A 2.x scope may be narrowed by search
// parameters: patient/Observation.rs?category=laboratory. The two syntaxes
// are one model: "read" is "rs", "write" is "cud" and "*" is "cruds", so
// patient/Observation.read and patient/Observation.rs are [Scope.Equal].
//
// Everything else made of RFC 6749 scope-token characters is a non-resource
// scope (openid, fhirUser, profile, launch, launch/patient, offline_access,
// extension scopes) that is kept and can be queried with [Set.Has]. Scopes are
// case-sensitive. Malformed resource scopes are errors, never extension
// scopes: a token starting with patient/, user/ or system/ (in any letter case)
// must parse as a resource scope, and context-less shapes like "*.*" are
// rejected. Every error is an *[Error] wrapping [ErrInvalid] that quotes the
// scope (truncated to 64 bytes) and says what is wrong.
//
// Constraint values are kept as written (not percent-decoded), after checking
// that every "%" starts a valid escape; "|" is allowed unencoded for token
// searches such as category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory.
// [Constraint.DecodedValue] decodes. A scope has at most [MaxConstraints]
// constraints, and so has a claim, counted over its distinct constrained
// scopes: each one is checked on every resource a constrained request
// touches.
//
// # Claims
//
// [ParseSet] is strict (any invalid token, and any empty token from a leading,
// trailing or repeated space, is an error and yields the empty Set; an empty
// claim is the empty Set). [ParseSetLenient] keeps the valid tokens, skips
// empty ones and returns one *Error per invalid token.
//
// # Sets
//
// A [Set] is an immutable, deduplicated union of scopes, safe for concurrent
// use. [Set.Permits] answers whether the set grants letters on a type in a
// context without allocating: letters of unconstrained scopes add up across
// scopes; a constrained scope counts only if it grants all the letters asked
// for by itself, and scopes with different constraints are alternatives,
// never merged into a broader permission. [Set.AppendConstraints] lists those
// alternatives; [Set.HasContext] says, just as cheaply, whether the set
// has any scope of a context at all. [Set.Intersect] computes what a server grants (requested ∩
// allowed), [Set.ResourceTypes] lists the types a set could touch, and
// [Set.String] and [Set.Canonical] print the claim as given or in SMART 2.x
// canonical form.
package scope
