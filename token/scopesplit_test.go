package token_test

import (
	"context"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// hostileSeparators are the bytes and runes that must never separate two
// scope-tokens (RFC 6749 section 3.3 separates them with %x20 only): every
// other Unicode white space rune, and bytes outside the scope-token
// characters.
func hostileSeparators() []string {
	var seps []string
	add := func(lo, hi, stride uint32) {
		for r := lo; r <= hi; r += stride {
			if r != ' ' {
				seps = append(seps, string(rune(r)))
			}
		}
	}
	for _, r := range unicode.White_Space.R16 {
		add(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride))
	}
	for _, r := range unicode.White_Space.R32 {
		add(r.Lo, r.Hi, r.Stride)
	}
	return append(seps, "\x00", "\x7f", `"`, `\`)
}

// scopeSplitCase is one scope claim that, split anywhere but on single
// spaces, would grant `grants` (a context with *.cruds).
type scopeSplitCase struct {
	profile string
	claims  map[string]any
	grants  scope.Context
}

// scopeSplitCases puts sep between a harmless scope and a *.cruds scope,
// in every scope claim shape of the profiles that read one.
func scopeSplitCases(sep string) []scopeSplitCase {
	return []scopeSplitCase{
		{"entra", map[string]any{"scp": "openid" + sep + "user.all.cruds"}, scope.User},
		{"entra", map[string]any{"scp": "user_impersonation" + sep + "user.all.cruds"}, scope.User},
		{"entra", map[string]any{"idtyp": "app", "roles": []string{"App.Reader" + sep + "system.all.cruds"}}, scope.System},
		{"entra", map[string]any{"scp": []string{"openid" + sep + "user.all.cruds"}}, scope.User},
		{"smart", map[string]any{"scope": "openid" + sep + "user/*.cruds"}, scope.User},
		{"smart", map[string]any{"scp": []string{"openid" + sep + "user/*.cruds"}}, scope.User},
		{"okta", map[string]any{"scp": []string{"openid" + sep + "system/*.cruds"}}, scope.System},
		{"auth0", map[string]any{"scope": []string{"openid" + sep + "system/*.cruds"}}, scope.System},
	}
}

// profileVerifiers returns a Verifier per profile, built with opts, and a
// function signing a claim set (claimsWith) with the key they all trust.
func profileVerifiers(t *testing.T, opts ...token.VerifierOption) (map[string]*token.Verifier, func(map[string]any) string) {
	t.Helper()
	vs := map[string]*token.Verifier{}
	var sign func(map[string]any) string
	for _, name := range token.ProfileNames() {
		m, ok := token.Profile(name)
		require.True(t, ok)
		rk, v := staticVerifier(t, token.Config{Claims: m}, opts...)
		vs[name] = v
		sign = func(claims map[string]any) string {
			return signAs(t, "RS256", "rsa-1", rk, claimsWith(t, claims))
		}
	}
	return vs, sign
}

// TestScopeClaimSplitsOnSingleSpacesOnly: one signed scope-token never
// becomes two scopes, whatever the claim mapping; in strict mode a
// scope-token with a byte outside RFC 6749's scope-token characters, or an
// empty one, refuses the token.
func TestScopeClaimSplitsOnSingleSpacesOnly(t *testing.T) {
	ctx := context.Background()
	vs, sign := profileVerifiers(t)
	seps := hostileSeparators()
	require.Len(t, seps, 24+4, "unicode.White_Space has 24 runes besides U+0020")
	for _, sep := range append(seps, "  ") {
		for _, tc := range scopeSplitCases(sep) {
			raw := sign(tc.claims)
			p, err := vs[tc.profile].Authenticate(ctx, raw)
			require.Nil(t, p, "%s %q", tc.profile, tc.claims)
			requireRejected(t, err, token.ErrScope, raw)
		}
	}
	// One signed scope-token read as two, and empty scope-tokens around
	// single spaces.
	for _, tc := range []scopeSplitCase{
		{"entra", map[string]any{"scp": "openid  user.all.cruds"}, scope.User},
		{"entra", map[string]any{"scp": " user.all.cruds"}, scope.User},
		{"entra", map[string]any{"scp": "user.all.cruds "}, scope.User},
		{"entra", map[string]any{"idtyp": "app", "roles": []string{"App.Reader\u0085system.all.cruds"}}, scope.System},
		{"entra", map[string]any{"idtyp": "app", "roles": []string{"App.Reader\vsystem.all.cruds"}}, scope.System},
		{"entra", map[string]any{"idtyp": "app", "roles": []string{"App.Reader system.all.cruds"}}, scope.System},
		{"entra", map[string]any{"idtyp": "app", "roles": []string{"App.Reader", ""}}, scope.System},
		{"smart", map[string]any{"scope": "openid  user/*.cruds"}, scope.User},
		{"okta", map[string]any{"scp": []string{"openid system/*.cruds"}}, scope.System},
	} {
		raw := sign(tc.claims)
		_, err := vs[tc.profile].Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrScope, raw)
	}
}

// TestLenientScopesNeverSplitAToken: WithLenientScopes drops a malformed
// scope-token (and skips empty ones, as scope.ParseSetLenient does) but
// never reads it as two scopes; an array element holding a space still
// refuses the token, since it cannot be kept as the one token it is.
func TestLenientScopesNeverSplitAToken(t *testing.T) {
	ctx := context.Background()
	vs, sign := profileVerifiers(t, token.WithLenientScopes())
	for _, sep := range hostileSeparators() {
		for _, tc := range scopeSplitCases(sep) {
			p, err := vs[tc.profile].Authenticate(ctx, sign(tc.claims))
			require.NoError(t, err, "%s %q", tc.profile, tc.claims)
			require.Equal(t, scope.Denied, p.Scopes.Permits(tc.grants, "Patient", scope.Delete), "%s %q -> %q", tc.profile, tc.claims, p.Scopes.String())
			require.Zero(t, p.Scopes.Len(), "%s %q -> %q", tc.profile, tc.claims, p.Scopes.String())
		}
	}
	p, err := vs["entra"].Authenticate(ctx, sign(map[string]any{"scp": " openid  user.all.rs "}))
	require.NoError(t, err)
	require.Equal(t, "openid user/*.rs", p.Scopes.String())
	raw := sign(map[string]any{"idtyp": "app", "roles": []string{"App.Reader system.all.cruds"}})
	_, err = vs["entra"].Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrScope, raw)
}

// TestDottedScopeNamesLegitimateClaims: Entra's own shapes still map
// (roles from app-only tokens, idtyp "app").
func TestDottedScopeNamesLegitimateClaims(t *testing.T) {
	ctx := context.Background()
	vs, sign := profileVerifiers(t)
	for _, tc := range []struct {
		claims map[string]any
		want   string
	}{
		{map[string]any{"scp": "user.all.cruds patient.Observation.rs"}, "user/*.cruds patient/Observation.rs"},
		{map[string]any{"scp": "user_impersonation"}, "user_impersonation"},
		{map[string]any{"scp": ""}, ""},
		{map[string]any{"idtyp": "app", "roles": []string{"system.all.read", "system.Patient.rs", "App.Reader"}}, "system/*.read system/Patient.rs App.Reader"},
		{map[string]any{"idtyp": "app", "roles": []string{}}, ""},
	} {
		p, err := vs["entra"].Authenticate(ctx, sign(tc.claims))
		require.NoError(t, err, "%q", tc.claims)
		require.Equal(t, tc.want, p.Scopes.String(), "%q", tc.claims)
	}
}
