package scope

import (
	"cmp"
	"net/url"
	"slices"
)

// DecodedValue returns Value with its percent-encoding decoded the way a URL
// query is decoded (url.QueryUnescape: "%7C" becomes "|", "+" becomes a space).
// Values accepted by [Parse] always decode; for a malformed hand-built value
// the raw Value is returned.
func (c Constraint) DecodedValue() string {
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return c.Value
	}
	return v
}

// compareConstraints orders constraints by parameter, then value.
func compareConstraints(a, b Constraint) int {
	if c := cmp.Compare(a.Param, b.Param); c != 0 {
		return c
	}
	return cmp.Compare(a.Value, b.Value)
}

// normalizeConstraints returns cons sorted and without duplicates, as a new
// slice (nil when cons is empty). cons is not modified.
func normalizeConstraints(cons []Constraint) []Constraint {
	if len(cons) == 0 {
		return nil
	}
	out := slices.Clone(cons)
	slices.SortFunc(out, compareConstraints)
	return slices.Compact(out)
}

// containsConstraint reports whether cons holds c.
func containsConstraint(cons []Constraint, c Constraint) bool {
	return slices.Contains(cons, c)
}

// sameConstraints reports whether a and b hold the same constraints, ignoring
// order and repetition.
func sameConstraints(a, b []Constraint) bool {
	for _, c := range a {
		if !containsConstraint(b, c) {
			return false
		}
	}
	for _, c := range b {
		if !containsConstraint(a, c) {
			return false
		}
	}
	return true
}

// unionConstraints returns the normalized union of a and b: a scope carrying
// it matches only where both a's and b's constraints hold.
func unionConstraints(a, b []Constraint) []Constraint {
	all := make([]Constraint, 0, len(a)+len(b))
	all = append(all, a...)
	all = append(all, b...)
	return normalizeConstraints(all)
}

// constraintKey returns a string identifying a normalized constraint list.
func constraintKey(cons []Constraint) string {
	return string(appendQuery(nil, cons))
}
