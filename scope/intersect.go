package scope

// Intersect returns what both sets grant (requested ∩ allowed).
//
// For every pair of resource scopes, one from each set, with the same context
// and overlapping types ("*" overlaps every type; the narrower type wins), the
// result holds a scope with the letters both grant, constrained by the union
// of both scopes' constraints (it matches only where both constraint lists
// hold, so it is never broader than either). Pairs without common letters
// contribute nothing, and so do results whose constraints would take the
// returned Set over MaxConstraints (in the order of s, then allowed).
// A resulting scope that means the same as the requested
// scope keeps the requested spelling (so v1 scopes echo as requested); other
// results are in v2 canonical form. Non-resource scopes are kept when both
// sets contain them.
//
// Every letter the result grants, both sets grant under constraints that
// hold wherever the result's do. Results on one context, type and
// constraint list add up in the returned Set (see [Set.Permits]), also
// when one set gives their letters only through separate scopes, which
// Permits does not add up there: "patient/Observation.rs?x=1" against
// "patient/*.r?x=1 patient/Observation.s?x=1" grants rs under x=1 at once.
// Each of those letters is granted under the same constraints either way.
func (s Set) Intersect(allowed Set) Set {
	if s.d == nil || allowed.d == nil {
		return Set{}
	}
	var out []Scope
	for _, a := range s.d.scopes {
		if !a.IsResource() {
			if allowed.Has(a.raw) {
				out = append(out, a)
			}
			continue
		}
		for _, b := range allowed.d.scopes {
			if r, ok := intersectScopes(a, b); ok {
				out = append(out, r)
			}
		}
	}
	set, _ := buildSet(out) // constraints over MaxConstraints are not granted
	return set
}

// intersectScopes returns the scope granting what both a and b grant, if any.
func intersectScopes(a, b Scope) (Scope, bool) {
	if a.Context != b.Context || !b.IsResource() {
		return Scope{}, false
	}
	typ := a.ResourceType
	switch {
	case typ == "*":
		typ = b.ResourceType
	case b.ResourceType != "*" && b.ResourceType != typ:
		return Scope{}, false
	}
	perm := a.Permissions & b.Permissions & All
	if perm == 0 {
		return Scope{}, false
	}
	r := Scope{
		Context:      a.Context,
		ResourceType: typ,
		Permissions:  perm,
		Constraints:  unionConstraints(a.Constraints, b.Constraints),
		Syntax:       SyntaxV2,
	}
	if r.Equal(a) {
		return a, true
	}
	r.raw = r.Canonical()
	return r, true
}
