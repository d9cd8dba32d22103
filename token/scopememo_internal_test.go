package token

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
)

func TestScopeMemo(t *testing.T) {
	r := &claimRules{memo: &scopeMemo{}}
	a, err := r.scopes(map[string]any{"scope": "user/Patient.rs openid"})
	require.NoError(t, err)
	b, err := r.scopes(map[string]any{"scp": []any{"user/Patient.rs", "openid"}})
	require.NoError(t, err)
	require.Equal(t, a.String(), b.String(), "scp array and scope string share one memo entry")
	require.Equal(t, scope.Unconstrained, b.Permits(scope.User, "Patient", scope.Search))

	// Failures are not remembered.
	_, err = r.scopes(map[string]any{"scope": "user/Patient.rx"})
	require.ErrorIs(t, err, ErrScope)
	_, ok := r.memo.get("user/Patient.rx")
	require.False(t, ok)
}

// largeClaim is n distinct resource scopes (400 is ~10 KiB).
func largeClaim(tag string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("patient/T%s%d.rs", tag, i)
	}
	return strings.Join(parts, " ")
}

func TestScopeMemoBoundedByBytes(t *testing.T) {
	m := &scopeMemo{maxBytes: 1 << 20}
	r := &claimRules{memo: m}

	big := largeClaim("a", 400)
	require.Greater(t, len(big), 4096)
	set, err := r.scopes(map[string]any{"scope": big})
	require.NoError(t, err)
	got, ok := m.get(big)
	require.True(t, ok, "a 400-scope claim is memoized")
	require.True(t, set == got, "the very Set parsed is shared")

	// Many distinct claims: the bytes held stay within the budget, and a
	// claim in steady use survives every turnover of the generations.
	for i := range 300 {
		_, err := r.scopes(map[string]any{"scope": largeClaim(fmt.Sprint(i), 40)})
		require.NoError(t, err)
		_, ok := m.get(big)
		require.True(t, ok, "claim in use kept after %d others", i)
		require.LessOrEqual(t, m.held(), m.maxBytes)
	}
	_, ok = m.get(largeClaim("0", 40))
	require.False(t, ok, "a claim unused for two generations is forgotten")

	huge := largeClaim("h", 4000) // larger than a generation
	_, err = r.scopes(map[string]any{"scope": huge})
	require.NoError(t, err)
	_, ok = m.get(huge)
	require.False(t, ok)
}

// held is the estimated size of both generations.
func (s *scopeMemo) held() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, g := range []map[string]scope.Set{s.young, s.old} {
		for c := range g {
			n += memoEntrySize(c)
		}
	}
	return n
}
