package scope

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// constrained returns n scopes on Observation, each with its own
// constraint, every one of which a lab Observation satisfies.
func constrained(n int, letters string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("patient/Observation.%s?category=laboratory%%2Cx%d", letters, i)
	}
	return out
}

// queryOf returns one scope with n constraints.
func queryOf(n int, prefix string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("category=laboratory%%2C%s%d", prefix, i)
	}
	return "patient/Observation.rs?" + strings.Join(items, "&")
}

// Every constraint of a token is checked on every resource a constrained
// request touches and added to every search it narrows: a token whose
// scopes carry thousands of constraints that all hold would cost the
// server thousands of checks per resource, and comparing two such scopes
// is quadratic. A scope and a claim hold at most MaxConstraints.
func TestConstraintLimit(t *testing.T) {
	_, err := Parse(queryOf(MaxConstraints, "a"))
	require.NoError(t, err)
	_, err = Parse(queryOf(MaxConstraints+1, "a"))
	require.ErrorIs(t, err, ErrInvalid)

	claim := strings.Join(constrained(MaxConstraints, "rs"), " ")
	set, err := ParseSet(claim)
	require.NoError(t, err)
	assert.Equal(t, Constrained, set.Permits(Patient, "Observation", Read|Search))

	// The same constraints with other letters count once.
	set, err = ParseSet(claim + " " + strings.Join(constrained(MaxConstraints, "c"), " "))
	require.NoError(t, err)
	assert.Equal(t, Constrained, set.Permits(Patient, "Observation", Create|Read|Search))

	over := claim + " openid " + constrained(MaxConstraints+1, "rs")[MaxConstraints]
	set, err = ParseSet(over)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Zero(t, set.Len())

	lenient, bad := ParseSetLenient(over)
	require.Len(t, bad, 1)
	assert.Contains(t, bad[0].Scope, "x64")
	assert.Equal(t, MaxConstraints+1, lenient.Len(), "64 constrained scopes and openid")
	assert.Len(t, lenient.AppendConstraints(nil, Patient, "Observation", Read), MaxConstraints)

	scopes := make([]Scope, 0, MaxConstraints+1)
	for _, s := range constrained(MaxConstraints+1, "rs") {
		sc, err := Parse(s)
		require.NoError(t, err)
		scopes = append(scopes, sc)
	}
	assert.Equal(t, MaxConstraints, NewSet(scopes...).Len(), "NewSet drops what is over the limit")
}

// An authorization server grants requested ∩ allowed, whose constraints
// are the union of both sides': a client must not obtain through it a
// scope the resource server's parser refuses, or one over the limit.
func TestIntersectConstraintLimit(t *testing.T) {
	half := MaxConstraints/2 + 1
	req := mustSet(t, queryOf(half, "a"))
	allowed := mustSet(t, queryOf(half, "b"))
	got := req.Intersect(allowed)
	assert.Equal(t, Denied, got.Permits(Patient, "Observation", Read))
	_, err := ParseSet(got.String())
	require.NoError(t, err)

	ok := mustSet(t, queryOf(MaxConstraints/2, "b"))
	got = mustSet(t, queryOf(MaxConstraints/2, "a")).Intersect(ok)
	assert.Equal(t, Constrained, got.Permits(Patient, "Observation", Read))
	_, err = ParseSet(got.String())
	require.NoError(t, err)
}
