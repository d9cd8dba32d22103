package token_test

import (
	"context"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// TestEntraRolesOnlyFromAppOnlyTokens: Entra ID puts the app roles
// assigned to a user in the roles claim of that user's delegated tokens
// too. The entra profile reads roles only from app-only tokens (idtyp
// "app"; without idtyp, oid equal to sub), so a user token without scp
// cannot turn the user's app roles into SMART scopes that no client was
// granted.
func TestEntraRolesOnlyFromAppOnlyTokens(t *testing.T) {
	rk := loadPrivateKey(t, "rsa.pem").(*rsa.PrivateKey)
	byName := map[string]idpFixture{}
	for _, f := range idpFixtures() {
		byName[f.name] = f
	}
	user, app := byName["entra-v2-delegated"], byName["entra-v1-app-only"]
	userOID := user.claims["oid"].(string)
	appOID := app.claims["oid"].(string)
	require.NotEqual(t, userOID, user.claims["sub"], "the delegated fixture is a user token: oid is not sub")
	require.Equal(t, appOID, app.claims["sub"], "the app-only fixture has oid equal to sub")
	verifiers := map[string]*token.Verifier{
		user.name: fixtureVerifier(t, user, rk, token.EntraClaims),
		app.name:  fixtureVerifier(t, app, rk, token.EntraClaims),
	}
	assigned := []string{"system.all.cruds"} // an app role assigned to the signed-in user
	ctx := context.Background()

	refused := []struct {
		name   string
		f      idpFixture
		edit   map[string]any
		want   error
		reason string
	}{
		{"user token without scp, carrying the user's app roles", user, map[string]any{"scp": nil, "roles": assigned}, token.ErrScope, "app-only"},
		{"user token without scp, roles as a string", user, map[string]any{"scp": nil, "roles": "system.all.cruds"}, token.ErrScope, "app-only"},
		{"idtyp user although oid equals sub", user, map[string]any{"scp": nil, "roles": assigned, "idtyp": "user", "sub": userOID}, token.ErrScope, "idtyp"},
		{"idtyp App in another letter case", user, map[string]any{"scp": nil, "roles": assigned, "idtyp": "App"}, token.ErrScope, "idtyp"},
		{"idtyp app with trailing white space", user, map[string]any{"scp": nil, "roles": assigned, "idtyp": "app "}, token.ErrScope, "idtyp"},
		{"idtyp empty", user, map[string]any{"scp": nil, "roles": assigned, "idtyp": ""}, token.ErrScope, "idtyp"},
		{"oid equal to sub in another letter case", user, map[string]any{"scp": nil, "roles": assigned, "sub": strings.ToUpper(userOID)}, token.ErrScope, "oid"},
		{"oid and sub both missing", user, map[string]any{"scp": nil, "roles": assigned, "oid": nil, "sub": nil}, token.ErrScope, "oid"},
		{"oid and sub both empty", user, map[string]any{"scp": nil, "roles": assigned, "oid": "", "sub": ""}, token.ErrScope, "oid"},
		{"app-only shape but idtyp user", app, map[string]any{"idtyp": "user"}, token.ErrScope, "idtyp"},
		{"app-only shape without oid", app, map[string]any{"oid": nil}, token.ErrScope, "oid"},
		{"app-only shape with oid a look-alike of sub", app, map[string]any{"oid": appOID + "\u200b"}, token.ErrScope, "oid"},
		{"idtyp a number", app, map[string]any{"idtyp": 1}, token.ErrMalformed, "idtyp"},
		{"idtyp true", app, map[string]any{"idtyp": true}, token.ErrMalformed, "idtyp"},
		{"idtyp null", app, map[string]any{"idtyp": jsonNull{}}, token.ErrMalformed, "idtyp"},
		{"idtyp an array holding app", app, map[string]any{"idtyp": []string{"app"}}, token.ErrMalformed, "idtyp"},
		{"oid a number equal to sub's digits", app, map[string]any{"oid": 5, "sub": "5"}, token.ErrMalformed, "oid"},
		{"oid an array holding sub", app, map[string]any{"oid": []string{appOID}}, token.ErrMalformed, "oid"},
		{"oid an object", app, map[string]any{"oid": map[string]any{"v": appOID}}, token.ErrMalformed, "oid"},
		{"sub null next to idtyp app", app, map[string]any{"idtyp": "app", "sub": jsonNull{}}, token.ErrMalformed, "sub"},
		{"idtyp a number in a delegated token", user, map[string]any{"idtyp": 0}, token.ErrMalformed, "idtyp"},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			raw := signFixture(t, tc.f, rk, fuzzNow, tc.edit)
			p, err := verifiers[tc.f.name].Authenticate(ctx, raw)
			require.Nil(t, p)
			requireRejected(t, err, tc.want, raw)
			require.Contains(t, err.Error(), tc.reason)
		})
	}

	accepted := []struct {
		name   string
		f      idpFixture
		edit   map[string]any
		scopes string
	}{
		{"app-only token as Entra sends it (oid equals sub)", app, nil, "user/Observation.rs"},
		{"idtyp app decides, whatever oid and sub are", app, map[string]any{"idtyp": "app", "oid": userOID}, "user/Observation.rs"},
		{"idtyp app in a token shaped like a user's", user, map[string]any{"scp": nil, "roles": assigned, "idtyp": "app"}, "system/*.cruds"},
		{"delegated token: scp is read, the user's roles are not", user, map[string]any{"roles": assigned, "idtyp": "user"}, "user/Observation.rs user_impersonation"},
		{"user token with neither scp nor roles: no scopes, as any token without a scope claim", user, map[string]any{"scp": nil}, ""},
	}
	for _, tc := range accepted {
		t.Run("accepted/"+tc.name, func(t *testing.T) {
			p, err := verifiers[tc.f.name].Authenticate(ctx, signFixture(t, tc.f, rk, fuzzNow, tc.edit))
			require.NoError(t, err)
			require.Equal(t, tc.scopes, p.Scopes.String())
		})
	}

	// End to end: the user's app role grants nothing through the middleware.
	srv, _, _ := fixtureServer(t)
	tok := signFixture(t, user, rk, fuzzNow, map[string]any{"scp": nil, "roles": assigned})
	require.Equal(t, http.StatusUnauthorized, fixtureGet(t, srv, "/fhir/Patient/123", tok))
}

// jsonNull marshals as JSON null: a claim present with the value null
// (signFixture deletes claims edited to nil).
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }
