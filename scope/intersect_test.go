package scope

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// intersectPairs are pairs (requested, allowed) whose intersection holds
// results from separate scopes of one input that land on one context,
// type and constraint list, where the returned Set adds their letters up.
var intersectPairs = [][2]string{
	{"patient/Observation.rs?x=1", "patient/*.r?x=1 patient/Observation.s?x=1"},
	{"patient/Observation.rs?category=lab", "patient/Observation.r patient/Observation.s?category=lab"},
	{"patient/Observation.rs?x=1&y=2", "patient/Observation.r?x=1 patient/Observation.s?y=2"},
	{"patient/Observation.rs?y=2", "patient/Observation.r?x=1 patient/Observation.s?x=1&y=2"},
	{"patient/*.r?x=1 patient/*.s?y=1", "patient/*.rs?x=1&y=1"},
}

// TestIntersectGrantsNoLetterMoreThanEither checks, for many generated pairs
// of sets, that every letter the intersection grants, both inputs grant
// under constraints that hold wherever the intersection's do.
func TestIntersectGrantsNoLetterMoreThanEither(t *testing.T) {
	for _, pair := range intersectPairs {
		a, b := mustSet(t, pair[0]), mustSet(t, pair[1])
		for _, order := range [][2]Set{{a, b}, {b, a}} {
			if err := intersectGrantsNoMore(order[0], order[1]); err != nil {
				t.Error(err)
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	n := 3000
	if testing.Short() {
		n = 500
	}
	for range n {
		a, b := randomSet(rng), randomSet(rng)
		if err := intersectGrantsNoMore(a, b); err != nil {
			t.Fatal(err)
		}
	}
}

// The letters of results on one context, type and constraint list add up,
// even when one input grants them only through separate scopes.
func TestIntersectAddsUpLetters(t *testing.T) {
	got := mustSet(t, "patient/Observation.rs?x=1").Intersect(mustSet(t, "patient/*.r?x=1 patient/Observation.s?x=1"))
	if m := got.Permits(Patient, "Observation", Read|Search); m != Constrained {
		t.Errorf("%q: Permits(rs) = %v, want Constrained", got, m)
	}
}

// intersectGrantsNoMore returns an error describing a question that
// a.Intersect(b) answers more broadly than a or b, or nil.
func intersectGrantsNoMore(a, b Set) error {
	got := a.Intersect(b)
	for _, in := range []Set{a, b} {
		if err := grantsNoMore(got, in); err != nil {
			return fmt.Errorf("%q ∩ %q = %q: %w", a, b, got, err)
		}
	}
	return nil
}

// queryTypes are the resource types that grantsNoMore asks about; Encounter
// is in no generated scope.
var queryTypes = []string{"*", "Observation", "Patient", "Encounter"}

// grantsNoMore returns an error if sub answers some question of the Set API
// more broadly than super: a letter granted unconstrained or under a
// constraint list that super does not grant as broadly, unconstrained
// letters, contexts, resource types or names super lacks.
func grantsNoMore(sub, super Set) error {
	for _, sc := range sub.Scopes() {
		if !sc.IsResource() && !super.Has(sc.String()) {
			return fmt.Errorf("has %q, %q does not", sc, super)
		}
	}
	for c := Patient; c <= System; c++ {
		if sub.HasContext(c) && !super.HasContext(c) {
			return fmt.Errorf("has context %s, %q does not", c, super)
		}
		for _, typ := range sub.ResourceTypes(c) {
			if types := super.ResourceTypes(c); !slices.Contains(types, typ) && !slices.Contains(types, "*") {
				return fmt.Errorf("touches %s %s, %q does not", c, typ, super)
			}
		}
		for _, typ := range queryTypes {
			if extra := sub.Permissions(c, typ) &^ super.Permissions(c, typ); extra != 0 {
				return fmt.Errorf("grants %s %s.%s unconstrained, %q does not", c, typ, extra, super)
			}
			for p := Permission(1); p <= All; p <<= 1 {
				if err := permitsNoMore(sub, super, c, typ, p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// permitsNoMore compares the answers of Permits and AppendConstraints for
// one question. An alternative of sub is covered by super when super grants
// the letters unconstrained or under a constraint list contained in it (one
// that holds wherever the alternative holds).
func permitsNoMore(sub, super Set, c Context, typ string, p Permission) error {
	m, sm := sub.Permits(c, typ, p), super.Permits(c, typ, p)
	if m > sm {
		return fmt.Errorf("permits %s %s.%s %v, %q only %v", c, typ, p, m, super, sm)
	}
	if sm == Unconstrained {
		return nil
	}
	theirs := super.AppendConstraints(nil, c, typ, p)
	for _, alt := range sub.AppendConstraints(nil, c, typ, p) {
		if !slices.ContainsFunc(theirs, func(g []Constraint) bool { return allIn(g, alt) }) {
			return fmt.Errorf("permits %s %s.%s under %s, %q only under %v", c, typ, p, appendQuery(nil, alt), super, theirs)
		}
	}
	return nil
}

// randomSet returns a set of up to four scopes: SMART 1.0 and 2.x, every
// context, concrete types and "*", letter subsets of cruds, with no, equal or
// different constraints, and now and then a non-resource scope.
func randomSet(rng *rand.Rand) Set {
	var claim []string
	for range 1 + rng.Intn(4) {
		claim = append(claim, randomScope(rng))
	}
	s, err := ParseSet(strings.Join(claim, " "))
	if err != nil {
		panic(err)
	}
	return s
}

// randomScope returns one valid scope; contexts and types are drawn so that
// scopes of one set often meet.
func randomScope(rng *rand.Rand) string {
	if rng.Intn(12) == 0 {
		return []string{"openid", "launch/patient", "fhirUser"}[rng.Intn(3)]
	}
	ctx := []string{"patient", "patient", "user", "system"}[rng.Intn(4)]
	typ := []string{"*", "Observation", "Observation", "Patient"}[rng.Intn(4)]
	if rng.Intn(5) == 0 {
		return ctx + "/" + typ + "." + []string{"read", "write", "*"}[rng.Intn(3)]
	}
	var letters []byte
	bits := 1 + rng.Intn(31) // a non-empty subset of cruds
	for i, l := range "cruds" {
		if bits&(1<<i) != 0 {
			letters = append(letters, byte(l))
		}
	}
	var cons []string
	for _, c := range []string{"x=1", "x=2", "y=1"} {
		if rng.Intn(3) == 0 {
			cons = append(cons, c)
		}
	}
	if len(cons) == 0 {
		return ctx + "/" + typ + "." + string(letters)
	}
	return ctx + "/" + typ + "." + string(letters) + "?" + strings.Join(cons, "&")
}

// allIn reports whether every constraint of a is in b: a scope constrained
// by a then holds wherever one constrained by b does.
func allIn(a, b []Constraint) bool {
	for _, c := range a {
		if !slices.Contains(b, c) {
			return false
		}
	}
	return true
}
