package token_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// staticVerifier trusts the fixed RSA test key (kid "rsa-1") for fuzzIssuer.
func staticVerifier(t *testing.T, cfg token.Config, opts ...token.VerifierOption) (*rsa.PrivateKey, *token.Verifier) {
	t.Helper()
	rk := loadPrivateKey(t, "rsa.pem").(*rsa.PrivateKey)
	k, err := jwk.Import(&rk.PublicKey)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, "rsa-1"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(k))
	if cfg.Issuer == "" {
		cfg.Issuer = fuzzIssuer
	}
	if cfg.Audience == "" && len(cfg.Audiences) == 0 {
		cfg.Audience = fuzzAudience
	}
	cfg.Keys = set
	base := []token.VerifierOption{token.WithClock(func() time.Time { return fuzzNow }), token.WithLogger(discardLogger)}
	v, err := token.NewVerifier(context.Background(), cfg, append(base, opts...)...)
	require.NoError(t, err)
	return rk, v
}

// claimsWith is a valid claim set for fuzzIssuer/fuzzAudience (exp in an
// hour, iat a minute ago) with extra members; nil values delete.
func claimsWith(t *testing.T, extra map[string]any) []byte {
	t.Helper()
	c := map[string]any{
		"iss": fuzzIssuer, "aud": fuzzAudience, "sub": "alice",
		"exp": fuzzNow.Add(time.Hour).Unix(), "iat": fuzzNow.Add(-time.Minute).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return mustJSON(t, c)
}

func TestMaxTokenLifetime(t *testing.T) {
	rk, v := staticVerifier(t, token.Config{}, token.WithMaxTokenLifetime(90*time.Minute+time.Minute))
	ctx := context.Background()
	tenYears := fuzzNow.Add(10 * 365 * 24 * time.Hour).Unix()
	for name, tc := range map[string]struct {
		claims map[string]any
		ok     bool
	}{
		"90 minutes":             {map[string]any{"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(90 * time.Minute).Unix()}, true},
		"ten years from iat":     {map[string]any{"exp": tenYears}, false},
		"ten years, no iat":      {map[string]any{"iat": nil, "exp": tenYears}, false},
		"an hour left, no iat":   {map[string]any{"iat": nil}, true},
		"old iat, long lifetime": {map[string]any{"iat": fuzzNow.Add(-100 * time.Minute).Unix(), "exp": fuzzNow.Add(time.Minute).Unix()}, false},
		"just over the maximum":  {map[string]any{"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(91*time.Minute + time.Second).Unix()}, false},
		"exactly the maximum":    {map[string]any{"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(91 * time.Minute).Unix()}, true},
	} {
		raw := signAs(t, "RS256", "rsa-1", rk, claimsWith(t, tc.claims))
		_, err := v.Authenticate(ctx, raw)
		if tc.ok {
			require.NoError(t, err, name)
			continue
		}
		requireRejected(t, err, token.ErrMalformed, raw)
		require.Contains(t, err.Error(), "exceeds the maximum", name)
	}
	_, err := token.NewVerifier(ctx, token.Config{Issuer: fuzzIssuer, Audience: fuzzAudience, JWKSURL: "https://idp.example/jwks"}, token.WithMaxTokenLifetime(0))
	require.ErrorIs(t, err, token.ErrConfig)
}

func TestSeveralAudiences(t *testing.T) {
	rk, v := staticVerifier(t, token.Config{Audiences: []string{"https://fhir.example/fhir", "https://fhir.internal/fhir"}})
	ctx := context.Background()
	for _, aud := range []any{"https://fhir.internal/fhir", []string{"account", "https://fhir.example/fhir"}} {
		_, err := v.Authenticate(ctx, signAs(t, "RS256", "rsa-1", rk, claimsWith(t, map[string]any{"aud": aud})))
		require.NoError(t, err)
	}
	for _, aud := range []any{"https://fhir.example/fhir/", "https://FHIR.internal/fhir", []string{"account"}} {
		raw := signAs(t, "RS256", "rsa-1", rk, claimsWith(t, map[string]any{"aud": aud}))
		_, err := v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrAudience, raw)
	}
	_, err := token.NewVerifier(ctx, token.Config{Issuer: fuzzIssuer, Audiences: []string{""}, JWKSURL: "https://idp.example/jwks"})
	require.ErrorIs(t, err, token.ErrConfig)
}

// TestClaimMappingProfiles: what each profile reads, and that it reads
// nothing else.
func TestClaimMappingProfiles(t *testing.T) {
	type want struct {
		client string
		scopes string // scope.Set.String(); "" with err
		err    error
	}
	tests := []struct {
		profile string
		claims  map[string]any
		want    want
	}{
		{"smart", map[string]any{"scope": "patient/Observation.rs", "client_id": "app"}, want{client: "app", scopes: "patient/Observation.rs"}},
		{"smart", map[string]any{"scope": []string{"patient/Observation.rs", "openid"}, "azp": "app"}, want{client: "app", scopes: "patient/Observation.rs openid"}},
		{"smart", map[string]any{"roles": []string{"system/*.*"}, "scope": "openid"}, want{scopes: "openid"}},
		{"smart", map[string]any{"roles": []string{"system/*.*"}}, want{scopes: ""}},
		{"smart", map[string]any{"scope": map[string]any{"a": "b"}}, want{err: token.ErrScope}},
		{"entra", map[string]any{"ver": "2.0", "azp": "app-v2", "scp": "patient.Observation.rs launch.patient user_impersonation"}, want{client: "app-v2", scopes: "patient/Observation.rs launch/patient user_impersonation"}},
		{"entra", map[string]any{"ver": "1.0", "appid": "app-v1", "oid": "alice", "roles": []string{"system.all.read"}}, want{client: "app-v1", scopes: "system/*.read"}},
		{"entra", map[string]any{"ver": "2.0", "azp": "app-v2", "oid": "bob", "roles": []string{"system.all.read"}}, want{err: token.ErrScope}},
		{"entra", map[string]any{"azp": "app", "scp": "user.Patient.read", "roles": []string{"system.all.read"}}, want{client: "app", scopes: "user/Patient.read"}},
		{"entra", map[string]any{"scp": "patient/Observation.rs"}, want{err: token.ErrScope}},
		{"entra", map[string]any{"scp": "Patient.Observation.rs"}, want{err: token.ErrScope}},
		{"entra", map[string]any{"scp": "practitioner.Observation.rs"}, want{scopes: "practitioner.Observation.rs"}},
		{"entra", map[string]any{"idtyp": "app", "roles": "system.all.read"}, want{scopes: "system/*.read"}},
		{"entra", map[string]any{"scp": 7}, want{err: token.ErrScope}},
		{"entra", map[string]any{"appid": 7}, want{err: token.ErrMalformed}},
		{"okta", map[string]any{"cid": "0oa1", "scp": []string{"patient/Observation.rs"}}, want{client: "0oa1", scopes: "patient/Observation.rs"}},
		{"okta", map[string]any{"cid": "0oa1", "scp": "patient/Observation.rs"}, want{err: token.ErrScope}},
		{"okta", map[string]any{"client_id": "x", "scope": "system/*.*", "scp": []string{"openid"}}, want{scopes: "openid"}},
		{"keycloak", map[string]any{"azp": "kc", "scope": "openid patient/Observation.rs"}, want{client: "kc", scopes: "openid patient/Observation.rs"}},
		{"keycloak", map[string]any{"azp": "kc", "scope": []string{"patient/Observation.rs"}}, want{err: token.ErrScope}},
		{"keycloak", map[string]any{"scope": "openid", "scp": []string{"system/*.*"}, "roles": []string{"system/*.*"}}, want{scopes: "openid"}},
		{"auth0", map[string]any{"azp": "a0", "scope": "patient/Observation.rs"}, want{client: "a0", scopes: "patient/Observation.rs"}},
		{"auth0", map[string]any{"azp": "a0", "permissions": []string{"patient/Observation.rs"}}, want{client: "a0", scopes: ""}},
		{"auth0", map[string]any{"scope": "openid", "permissions": []string{"system/*.*"}}, want{scopes: "openid"}},
		{"ping", map[string]any{"client_id": "pf", "scope": []string{"patient/Observation.rs"}}, want{client: "pf", scopes: "patient/Observation.rs"}},
		{"ping", map[string]any{"client_id": "pf", "scope": "patient/Observation.rs"}, want{client: "pf", scopes: "patient/Observation.rs"}},
		{"ping", map[string]any{"azp": "not-read", "scope": []any{"a", true}}, want{err: token.ErrScope}},
	}
	ctx := context.Background()
	for i, tc := range tests {
		m, ok := token.Profile(tc.profile)
		require.True(t, ok, tc.profile)
		rk, v := staticVerifier(t, token.Config{Claims: m})
		raw := signAs(t, "RS256", "rsa-1", rk, claimsWith(t, tc.claims))
		p, err := v.Authenticate(ctx, raw)
		if tc.want.err != nil {
			requireRejected(t, err, tc.want.err, raw)
			continue
		}
		require.NoError(t, err, "case %d (%s)", i, tc.profile)
		require.Equal(t, tc.want.client, p.ClientID, "case %d (%s)", i, tc.profile)
		require.Equal(t, tc.want.scopes, p.Scopes.String(), "case %d (%s)", i, tc.profile)
	}
}

func TestDottedScopeNamesGrantWhatTheSMARTNamesGrant(t *testing.T) {
	rk, entra := staticVerifier(t, token.Config{Claims: token.EntraClaims})
	_, smart := staticVerifier(t, token.Config{})
	ctx := context.Background()
	pe, err := entra.Authenticate(ctx, signAs(t, "RS256", "rsa-1", rk, claimsWith(t, map[string]any{"scp": "user.Observation.rs user.all.read"})))
	require.NoError(t, err)
	ps, err := smart.Authenticate(ctx, signAs(t, "RS256", "rsa-1", rk, claimsWith(t, map[string]any{"scope": "user/Observation.rs user/*.read"})))
	require.NoError(t, err)
	for _, typ := range []string{"Observation", "Patient"} {
		for _, in := range []scope.Permission{scope.Read, scope.Search, scope.Create} {
			require.Equal(t, ps.Scopes.Permits(scope.User, typ, in), pe.Scopes.Permits(scope.User, typ, in), "%s %v", typ, in)
		}
	}
}

func TestParseClaimMapping(t *testing.T) {
	m, err := token.ParseClaimMapping([]byte(`{"name":"corp","scope_claims":["perms"],"scope_format":"array","client_id_claims":["appId"],"patient_claim":"ext_patient"}`))
	require.NoError(t, err)
	require.Equal(t, "corp", m.Name)
	require.Equal(t, []string{"perms"}, m.ScopeClaims)
	require.Equal(t, token.ScopeNamesSMART, m.ScopeNames, "defaults fill what is not given")
	require.Equal(t, "encounter", m.EncounterClaim)

	for _, bad := range []string{
		`{"scope_claim":["scp"]}`,                           // misspelt
		`{"scope_format":"csv"}`,                            // unknown shape
		`{"scope_names":"underscore"}`,                      // unknown rule
		`{"scope_claims":["scp"],"scope_claims":["roles"]}`, // duplicate
		`{"scope_claims":[""]}`,                             // empty claim name
		`{"app_only_scope_claims":["roles"]}`,               // not one of the (default) scope claims
		`{"scope_claims":["scp","roles"],"app_only_scope_claims":["role"]}`,
		`{"scope_claims":["scp","roles"],"app_only_scope_claims":[""]}`,
		`{"scope_claims":["scp","roles"],"app_only_scope_claims":"roles"}`,
		`["scp"]`, ``, `{`,
	} {
		_, err := token.ParseClaimMapping([]byte(bad))
		require.ErrorIs(t, err, token.ErrConfig, bad)
	}
	m, err = token.ParseClaimMapping([]byte(`{"name":"corp-entra","scope_claims":["scp","roles"],"app_only_scope_claims":["roles"],"scope_names":"dotted"}`))
	require.NoError(t, err)
	require.Equal(t, []string{"roles"}, m.AppOnlyScopeClaims)
	entra, _ := token.Profile("entra")
	require.Equal(t, []string{"roles"}, entra.AppOnlyScopeClaims, "the entra profile reads roles only from app-only tokens")
	entra.AppOnlyScopeClaims[0] = "changed"
	require.Equal(t, []string{"roles"}, token.EntraClaims.AppOnlyScopeClaims, "Profile returns a copy")

	for _, name := range token.ProfileNames() {
		p, ok := token.Profile(name)
		require.True(t, ok)
		b, err := json.Marshal(p)
		require.NoError(t, err)
		back, err := token.ParseClaimMapping(b)
		require.NoError(t, err, name)
		require.Equal(t, p, back, "a profile survives a round trip through its JSON file form")
	}
	_, ok := token.Profile("Entra")
	require.False(t, ok, "profile names are exact")
	_, err = token.NewVerifier(context.Background(), token.Config{Issuer: fuzzIssuer, Audience: fuzzAudience, JWKSURL: "https://idp.example/jwks", Claims: token.ClaimMapping{ScopeFormat: "csv"}})
	require.ErrorIs(t, err, token.ErrConfig)
	require.True(t, strings.Contains(err.Error(), "scope_format"))
}
