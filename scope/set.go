package scope

import (
	"errors"
	"slices"
	"strings"
)

// Set is an immutable union of scopes, safe for concurrent use.
//
// The zero Set is empty and ready to use. A Set precomputes, when it is built,
// the letters each (context, type) is granted without constraints and the
// distinct constrained grants, so [Set.Permits] is a short loop that does not
// allocate.
type Set struct {
	d *setData // nil for the empty set
}

// setData is the immutable content of a non-empty Set.
type setData struct {
	scopes []Scope       // deduplicated by meaning (first spelling kept), in input order
	names  []string      // the non-resource scopes, as given
	typed  []grant       // unconstrained letters of typed scopes, one per (context, type)
	cons   []grant       // constrained letters, one per (context, type, constraint set)
	wild   [4]Permission // unconstrained letters of "*" scopes, indexed by Context
	ctxs   uint8         // bit c set: some resource scope of Context c is in the set
}

// grant is what the scopes of one (context, type[, constraint set]) grant.
type grant struct {
	typ  string       // resource type or "*"
	cons []Constraint // normalized; nil when unconstrained
	ctx  Context
	perm Permission
}

// NewSet builds a Set from parsed scopes.
//
// Scopes that mean the same thing are kept once (the first spelling wins).
// Constrained scopes whose constraints would take the set over
// MaxConstraints are dropped. Each scope is validated again, so a Scope built as a struct literal or
// modified after parsing is kept only if it is a valid scope whose fields
// match its text; invalid scopes (zero Permissions, malformed type or
// constraints, unknown Context, ...) are dropped, never widened. The set does
// not share memory with the arguments.
func NewSet(scopes ...Scope) Set {
	valid := make([]Scope, 0, len(scopes))
	for _, sc := range scopes {
		p, err := Parse(sc.String())
		if err != nil || !p.Equal(sc) {
			continue
		}
		valid = append(valid, p)
	}
	set, _ := buildSet(valid)
	return set
}

// smallSet is the size up to which buildSet finds duplicates by linear
// search instead of hashing canonical strings (cheaper for typical claims).
const smallSet = 16

// MaxConstraints bounds the constraints of one scope ([Parse]) and of
// one Set: counted over its distinct constrained grants, the scopes that
// differ only in their letters counted once. Every constraint is checked
// on every resource a constrained request reads, writes or returns, and
// added to every search it narrows: without a bound, a token whose
// scopes carry thousands of constraints would make each of its requests
// cost the server thousands of times what it costs anyone else. SMART
// tokens carry a handful.
const MaxConstraints = 64

// buildSet builds a Set from valid scopes, which it takes ownership of.
// It returns, in input order, the constrained scopes it left out because
// their constraints would take the set over MaxConstraints.
func buildSet(scopes []Scope) (Set, []Scope) {
	if len(scopes) == 0 {
		return Set{}, nil
	}
	d := &setData{scopes: scopes[:0]}
	var ix *setIndex
	if len(scopes) > smallSet {
		ix = &setIndex{seen: map[string]struct{}{}, typed: map[string]int{}, cons: map[string]int{}}
	}
	var over []Scope
	nCons := 0 // constraints of d.cons
	for _, sc := range scopes {
		if d.has(ix, sc) {
			continue
		}
		if len(sc.Constraints) > 0 {
			g := grant{typ: sc.ResourceType, ctx: sc.Context, perm: sc.Permissions, cons: normalizeConstraints(sc.Constraints)}
			if i := ix.find(d.cons, ix.consMap(), g); i >= 0 {
				d.cons[i].perm |= g.perm
			} else if nCons+len(g.cons) > MaxConstraints {
				over = append(over, sc)
				continue
			} else {
				nCons += len(g.cons)
				d.cons = ix.push(d.cons, ix.consMap(), g)
			}
		}
		d.scopes = append(d.scopes, sc)
		if sc.IsResource() {
			d.ctxs |= 1 << sc.Context
		}
		switch {
		case !sc.IsResource():
			d.names = append(d.names, sc.raw)
		case len(sc.Constraints) > 0:
		case sc.ResourceType == "*":
			d.wild[sc.Context] |= sc.Permissions
		default:
			d.typed = ix.add(d.typed, ix.typedMap(), grant{typ: sc.ResourceType, ctx: sc.Context, perm: sc.Permissions})
		}
	}
	d.scopes = slices.Clip(d.scopes)
	return Set{d: d}, over
}

// setIndex speeds up buildSet for large inputs; a nil *setIndex means linear
// search.
type setIndex struct {
	seen  map[string]struct{} // canonical forms of kept scopes
	typed map[string]int      // grant key -> index in setData.typed
	cons  map[string]int      // grant key -> index in setData.cons
}

func (ix *setIndex) typedMap() map[string]int {
	if ix == nil {
		return nil
	}
	return ix.typed
}

func (ix *setIndex) consMap() map[string]int {
	if ix == nil {
		return nil
	}
	return ix.cons
}

// has reports whether d already holds a scope meaning the same as sc, and
// records sc otherwise.
func (d *setData) has(ix *setIndex, sc Scope) bool {
	if ix == nil {
		return slices.ContainsFunc(d.scopes, sc.Equal)
	}
	key := sc.Canonical()
	if _, dup := ix.seen[key]; dup {
		return true
	}
	ix.seen[key] = struct{}{}
	return false
}

// find returns the index in gs of the grant with the same context, type
// and constraint list as g, or -1. index is nil for linear search.
func (ix *setIndex) find(gs []grant, index map[string]int, g grant) int {
	if index == nil {
		for i := range gs {
			if gs[i].ctx == g.ctx && gs[i].typ == g.typ && slices.Equal(gs[i].cons, g.cons) {
				return i
			}
		}
		return -1
	}
	if i, ok := index[grantKey(g)]; ok {
		return i
	}
	return -1
}

// add merges g into the grant of gs with the same context, type and
// constraint list (a union of letters), or appends it. index is nil for
// linear search.
func (ix *setIndex) add(gs []grant, index map[string]int, g grant) []grant {
	if i := ix.find(gs, index, g); i >= 0 {
		gs[i].perm |= g.perm
		return gs
	}
	return ix.push(gs, index, g)
}

// push appends g, which gs does not hold, to gs.
func (ix *setIndex) push(gs []grant, index map[string]int, g grant) []grant {
	if index != nil {
		index[grantKey(g)] = len(gs)
	}
	return append(gs, g)
}

// grantKey identifies a grant's context, type and constraint list.
func grantKey(g grant) string {
	return g.ctx.String() + "/" + g.typ + constraintKey(g.cons)
}

// ParseSet parses a space-separated scope claim strictly: any invalid token is an error.
//
// The claim must follow RFC 6749 section 3.3: tokens separated by single
// spaces. An empty claim is the empty set without error; a leading, trailing
// or doubled space is an error (an empty token), as is any invalid token. On
// error the returned Set is empty (fail closed) and the error wraps ErrInvalid
// (so does a claim whose constrained scopes hold more than MaxConstraints
// constraints in all):
// a single *Error when one token is invalid, otherwise the errors.Join of one
// *Error per invalid token, in claim order (errors.As finds the first).
func ParseSet(claim string) (Set, error) {
	if claim == "" {
		return Set{}, nil
	}
	scopes := make([]Scope, 0, countTokens(claim))
	var errs []error
	for tok := range strings.SplitSeq(claim, " ") {
		if tok == "" {
			errs = append(errs, newError(claim, "empty scope token: scopes must be separated by single spaces"))
			continue
		}
		sc, err := Parse(tok)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		scopes = append(scopes, sc)
	}
	set, over := buildSet(scopes)
	for _, sc := range over {
		errs = append(errs, tooManyConstraints(sc))
	}
	switch len(errs) {
	case 0:
		return set, nil
	case 1:
		return Set{}, errs[0]
	}
	return Set{}, errors.Join(errs...)
}

// ParseSetLenient keeps the valid tokens and reports each invalid one.
//
// It is tolerant about separators: empty tokens (leading, trailing or
// repeated spaces) are skipped without an error. Other separators such as
// tabs are not accepted; a token containing one is reported as invalid.
// Constrained scopes that would take the set over MaxConstraints
// constraints are left out and reported.
func ParseSetLenient(claim string) (Set, []*Error) {
	scopes := make([]Scope, 0, countTokens(claim))
	var bad []*Error
	for tok := range strings.SplitSeq(claim, " ") {
		if tok == "" {
			continue
		}
		sc, err := Parse(tok)
		if err != nil {
			bad = append(bad, err.(*Error))
			continue
		}
		scopes = append(scopes, sc)
	}
	set, over := buildSet(scopes)
	for _, sc := range over {
		bad = append(bad, tooManyConstraints(sc))
	}
	return set, bad
}

// tooManyConstraints is the error for a scope buildSet left out.
func tooManyConstraints(sc Scope) *Error {
	return newError(sc.raw, "its constraints take the claim over %d constraints in all", MaxConstraints)
}

// countTokens returns the number of non-empty space-separated tokens.
func countTokens(claim string) int {
	n := 0
	for i := 0; i < len(claim); i++ {
		if claim[i] != ' ' && (i == 0 || claim[i-1] == ' ') {
			n++
		}
	}
	return n
}

// Scopes returns the scopes of the set (a copy).
func (s Set) Scopes() []Scope {
	if s.d == nil {
		return nil
	}
	out := make([]Scope, len(s.d.scopes))
	for i, sc := range s.d.scopes {
		sc.Constraints = slices.Clone(sc.Constraints)
		out[i] = sc
	}
	return out
}

// Len returns the number of scopes in the set.
func (s Set) Len() int {
	if s.d == nil {
		return 0
	}
	return len(s.d.scopes)
}

// Has reports whether the set contains the non-resource scope name (e.g.
// "openid", "launch/patient"). The comparison is exact (case-sensitive).
// Resource scopes are not names: use [Set.Permits] for them.
func (s Set) Has(name string) bool {
	return s.d != nil && slices.Contains(s.d.names, name)
}

// HasContext reports whether the set holds a resource scope of context c
// (constrained or not, typed or "*"). When it is false, [Set.Permits]
// denies everything in c, so callers can skip c without asking per type.
// It is precomputed by NewSet and the parsers: zero allocations. NoContext
// and unknown contexts are false.
func (s Set) HasContext(c Context) bool {
	return s.d != nil && c >= Patient && c <= System && s.d.ctxs&(1<<c) != 0
}

// String returns the scopes as given, space separated.
func (s Set) String() string {
	return s.join(Scope.String)
}

// Canonical returns the v2 canonical form of every scope, space separated.
func (s Set) Canonical() string {
	return s.join(Scope.Canonical)
}

// join formats every scope with f and joins them with single spaces.
func (s Set) join(f func(Scope) string) string {
	if s.d == nil {
		return ""
	}
	var b strings.Builder
	for i, sc := range s.d.scopes {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f(sc))
	}
	return b.String()
}

// ResourceTypes returns the sorted resource types the set could touch in
// context c ("*" if a wildcard scope exists; it sorts first). Constrained
// scopes count. With c == NoContext it lists the types of every context.
func (s Set) ResourceTypes(c Context) []string {
	if s.d == nil {
		return nil
	}
	var out []string
	for _, sc := range s.d.scopes {
		if sc.IsResource() && (c == NoContext || sc.Context == c) {
			out = append(out, sc.ResourceType)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
