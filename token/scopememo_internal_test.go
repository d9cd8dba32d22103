package token

import (
	"fmt"
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

	// Failures are not remembered, and the memo stays bounded.
	_, err = r.scopes(map[string]any{"scope": "user/Patient.rx"})
	require.ErrorIs(t, err, ErrScope)
	_, ok := r.memo.get("user/Patient.rx")
	require.False(t, ok)
	for i := range 3 * scopeMemoSize {
		_, err := r.scopes(map[string]any{"scope": fmt.Sprintf("ext-%d", i)})
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(r.memo.m), scopeMemoSize)
}
