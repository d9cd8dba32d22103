package scope

// Match is the answer of Set.Permits.
type Match uint8

// The answers of Set.Permits, from narrowest to broadest.
const (
	Denied        Match = iota // no scope grants it
	Constrained                // only v2 scopes with query constraints grant it; see AppendConstraints
	Unconstrained              // granted without constraints
)

// String returns "denied", "constrained" or "unconstrained".
func (m Match) String() string {
	switch m {
	case Constrained:
		return "constrained"
	case Unconstrained:
		return "unconstrained"
	}
	return "denied"
}

// Permits reports whether the set grants every letter of p on resourceType in
// context c. Unconstrained if unconstrained scopes (possibly several, as a
// union) cover every letter; Constrained if not, but at least one constrained
// scope grants every letter of p by itself; Denied otherwise. Zero allocations.
//
// Scopes of one (context, type) with identical constraint sets are merged
// (patient/Observation.r?x=1 and patient/Observation.s?x=1 grant "rs" under
// x=1), but constrained scopes are never merged with scopes that have other
// or no constraints.
//
// It fails closed: an empty p, bits outside All, NoContext or an unknown
// context, and a resourceType that is neither "*" nor a resource type name are
// Denied. A "*" resourceType (a request that spans all types) is granted only
// by "*" scopes.
func (s Set) Permits(c Context, resourceType string, p Permission) Match {
	if !s.wellFormedQuery(c, resourceType, p) {
		return Denied
	}
	if s.unconstrained(c, resourceType)&p == p {
		return Unconstrained
	}
	for i := range s.d.cons {
		if g := &s.d.cons[i]; g.covers(c, resourceType, p) {
			return Constrained
		}
	}
	return Denied
}

// Permissions returns the letters that the set grants on resourceType in
// context c without constraints (the union of the matching unconstrained
// scopes, "*" scopes included). Zero allocations; 0 for malformed queries.
func (s Set) Permissions(c Context, resourceType string) Permission {
	if !s.wellFormedQuery(c, resourceType, All) {
		return 0
	}
	return s.unconstrained(c, resourceType)
}

// AppendConstraints appends, for each constrained scope that by itself grants
// every letter of p on resourceType in context c, its constraint list (one
// alternative each) to dst and returns it.
//
// The lists are sorted and deduplicated and shared with the Set: callers must
// not modify their elements. Constrained scopes that differ only in their
// letters but share a constraint list count as one scope (see Permits). It
// appends nothing for queries that Permits denies as malformed. It does not
// look at unconstrained scopes: call Permits first.
func (s Set) AppendConstraints(dst [][]Constraint, c Context, resourceType string, p Permission) [][]Constraint {
	if !s.wellFormedQuery(c, resourceType, p) {
		return dst
	}
	for i := range s.d.cons {
		if g := &s.d.cons[i]; g.covers(c, resourceType, p) {
			dst = append(dst, g.cons[:len(g.cons):len(g.cons)])
		}
	}
	return dst
}

// wellFormedQuery reports whether a Permits-style question can be answered
// by a grant at all.
func (s Set) wellFormedQuery(c Context, resourceType string, p Permission) bool {
	return s.d != nil && c >= Patient && c <= System && p != 0 && p&^All == 0 &&
		(resourceType == "*" || isTypeName(resourceType))
}

// unconstrained returns the unconstrained letters for (c, resourceType).
func (s Set) unconstrained(c Context, resourceType string) Permission {
	have := s.d.wild[c]
	for i := range s.d.typed {
		if g := &s.d.typed[i]; g.ctx == c && g.typ == resourceType {
			have |= g.perm
			break // typed grants are unique per (context, type)
		}
	}
	return have
}

// covers reports whether g alone grants every letter of p on typ in c.
func (g *grant) covers(c Context, typ string, p Permission) bool {
	return g.ctx == c && g.perm&p == p && (g.typ == "*" || g.typ == typ)
}
