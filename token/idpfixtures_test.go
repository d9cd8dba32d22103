package token_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// idpFixture is an access token shaped exactly as its vendor documents it:
// the header and claim names, JSON types and value formats of the cited
// sample, with three changes only: iat/nbf/exp are moved to the test's
// clock, the signature is made with the test key (under the sample's kid),
// and the scope claim holds the FHIR API's permissions (user-level read and
// search of Observation, in the spelling that provider allows).
type idpFixture struct {
	name    string
	profile token.ClaimMapping
	issuer  string
	aud     string
	client  string // the client the audit record must name
	header  map[string]any
	claims  map[string]any
}

func idpFixtures() []idpFixture {
	const entraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	return []idpFixture{{
		// https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html, RFC 9068 section 2.2
		name: "smart", profile: token.SMARTClaims, issuer: "https://ehr.example.org/auth", aud: "https://ehr.example.org/fhir", client: "growth-chart-app",
		header: map[string]any{"typ": "at+jwt", "alg": "RS256", "kid": "RjEwOwOA"},
		claims: map[string]any{
			"iss": "https://ehr.example.org/auth", "sub": "5ba552d67", "aud": "https://ehr.example.org/fhir",
			"client_id": "growth-chart-app", "jti": "dbe39bf3a3ba4238a513f51d6e1691c4",
			"scope": "openid fhirUser user/Observation.rs", "fhirUser": "Practitioner/789",
		},
	}, {
		// Entra ID v2.0 delegated token: the sample of
		// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
		name: "entra-v2-delegated", profile: token.EntraClaims, issuer: "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
		aud: "6e74172b-be56-4843-9ff4-e66a39bb12e3", client: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
		header: map[string]any{"typ": "JWT", "alg": "RS256", "kid": "i6lGk3FZzxRcUb2C3nEQ7syHJlY"},
		claims: map[string]any{
			"aud": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "iss": "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
			"aio": "AXQAi/8IAAAAtAaZLo3ChMif6KOnttRB7eBq4/DccQzjcJGxPYy/C3jDaNGxXd6wNIIVGRghNRnwJ1lOcAnNZcjvkoyrFxCttv33140RioOFJ4bCCGVuoCag1uOTT22222gHwLPYQ/uf79QX+0KIijdrmp69RctzmQ==",
			"azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "azpacr": "0", "name": "Abe Lincoln",
			"oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474", "preferred_username": "abeli@microsoft.com", "rh": "I",
			"scp": "user.Observation.rs user_impersonation", "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
			"tid": entraTenant, "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
		},
	}, {
		// Entra ID v1.0 app-only (client credentials) token: same page;
		// application permissions arrive in roles, the client in appid.
		name: "entra-v1-app-only", profile: token.EntraClaims, issuer: "https://sts.windows.net/" + entraTenant + "/",
		aud: "api://fhir-api", client: "75dbe77f-10a3-4e59-85fd-8c127544f17c",
		header: map[string]any{"typ": "JWT", "alg": "RS256", "x5t": "i6lGk3FZzxRcUb2C3nEQ7syHJlY", "kid": "i6lGk3FZzxRcUb2C3nEQ7syHJlY"},
		claims: map[string]any{
			"aud": "api://fhir-api", "iss": "https://sts.windows.net/" + entraTenant + "/",
			"aio": "E2ZgYDg0tZd0dgYCt1Jd/wA=", "appid": "75dbe77f-10a3-4e59-85fd-8c127544f17c", "appidacr": "1",
			"idp": "https://sts.windows.net/" + entraTenant + "/", "oid": "d82a3bd4-1f6e-4b3e-9e6f-5e0a1bc5a0f1", "rh": "0.AAAA",
			"roles": []string{"user.Observation.rs"}, "sub": "d82a3bd4-1f6e-4b3e-9e6f-5e0a1bc5a0f1",
			"tid": entraTenant, "uti": "hTCIbqGxC0u7Ktte-EmvAA", "ver": "1.0",
		},
	}, {
		// https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/#access-token-payload
		name: "okta", profile: token.OktaClaims, issuer: "https://dev-133337.okta.com/oauth2/aus2u2c9qLOwxYCUd0h7",
		aud: "api://default", client: "0oa1pp7ni7KgNYjYx0g7",
		header: map[string]any{"kid": "45js03w0djwedsw", "alg": "RS256"},
		claims: map[string]any{
			"ver": 1, "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
			"iss": "https://dev-133337.okta.com/oauth2/aus2u2c9qLOwxYCUd0h7", "aud": "api://default",
			"cid": "0oa1pp7ni7KgNYjYx0g7", "uid": "00uid4BxXw6I6TV4m0g3", "sub": "john.doe@example.com",
			"scp": []string{"openid", "email", "user/Observation.rs"},
		},
	}, {
		// Keycloak access token (realm "fhir"): https://www.keycloak.org/docs/latest/server_admin/index.html#_oidc_token_and_userinfo_endpoints
		name: "keycloak", profile: token.KeycloakClaims, issuer: "https://keycloak.example.org/realms/fhir",
		aud: "fhir-api", client: "fhir-app",
		header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": "q0ry8yP2Tp8pkz9c1Ze8Bb3RZ0nuMXqK8tIS8sX7GjA"},
		claims: map[string]any{
			"jti": "6f9bd1a7-1b1a-4b3b-9c53-08e2e8e7f3b1", "iss": "https://keycloak.example.org/realms/fhir",
			"aud": []string{"fhir-api", "account"}, "sub": "f1b9ad7a-2d4a-4a0f-a8d5-6ab6e9b8ffc3", "typ": "Bearer",
			"azp": "fhir-app", "sid": "0c6a8b9e-4c1d-4f0e-8d7a-1e2b3c4d5e6f", "acr": "1",
			"allowed-origins": []string{"https://app.example.org"},
			"realm_access":    map[string]any{"roles": []string{"offline_access", "uma_authorization"}},
			"resource_access": map[string]any{"account": map[string]any{"roles": []string{"manage-account"}}},
			"scope":           "openid profile email user/Observation.rs", "email_verified": true, "preferred_username": "alice",
		},
	}, {
		// Auth0 access token profile "auth0", RBAC with permissions:
		// https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles
		name: "auth0", profile: token.Auth0Claims, issuer: "https://my-tenant.us.auth0.com/",
		aud: "https://fhir.example.org/api", client: "AITAw0iZ7CIl5rs9QtSqy0AnMpmt3FCk",
		header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": "NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg"},
		claims: map[string]any{
			"iss": "https://my-tenant.us.auth0.com/", "sub": "auth0|5e3a1b2c3d4e5f6a7b8c9d0e",
			"aud": []string{"https://fhir.example.org/api", "https://my-tenant.us.auth0.com/userinfo"},
			"azp": "AITAw0iZ7CIl5rs9QtSqy0AnMpmt3FCk", "scope": "openid profile user/Observation.rs",
			"permissions": []string{"user/Observation.rs"},
		},
	}, {
		// PingFederate JWT access token manager (scope as an array):
		// https://docs.pingidentity.com/pingfederate/latest/administrators_reference_guide/pf_json_web_tokens_management.html
		name: "ping", profile: token.PingClaims, issuer: "https://pingfed.example.org:9031",
		aud: "https://fhir.example.org/fhir", client: "fhir_ac_client",
		header: map[string]any{"alg": "RS256", "kid": "k1"},
		claims: map[string]any{
			"scope": []string{"openid", "user/Observation.rs"}, "client_id": "fhir_ac_client",
			"iss": "https://pingfed.example.org:9031", "aud": "https://fhir.example.org/fhir", "sub": "joe", "jti": "Sp1RZ7Tu",
		},
	}}
}

// signFixture signs f at now with the test key.
func signFixture(t *testing.T, f idpFixture, rk *rsa.PrivateKey, now time.Time, edit map[string]any) string {
	t.Helper()
	claims := map[string]any{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range f.claims {
		claims[k] = v
	}
	for k, v := range edit {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	tok, err := authserver.SignCompact(mustJSON(t, f.header), mustJSON(t, claims), "RS256", rk)
	require.NoError(t, err)
	return tok
}

// fixtureVerifier trusts f's issuer and audience under mapping, with rk's
// public key under the fixture's kid, on the fuzzNow clock.
func fixtureVerifier(t *testing.T, f idpFixture, rk *rsa.PrivateKey, mapping token.ClaimMapping, opts ...token.VerifierOption) *token.Verifier {
	t.Helper()
	k, err := jwk.Import(&rk.PublicKey)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, f.header["kid"]))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(k))
	base := []token.VerifierOption{token.WithClock(func() time.Time { return fuzzNow }), token.WithLogger(discardLogger)}
	v, err := token.NewVerifier(context.Background(), token.Config{Issuer: f.issuer, Audience: f.aud, Keys: set, Claims: mapping},
		append(base, opts...)...)
	require.NoError(t, err)
	return v
}

// fixtureServer: one middleware trusting every fixture's issuer (each with
// its profile and audience, the test key under its kid), around a handler
// that answers 200; audit records are collected.
func fixtureServer(t *testing.T) (*httptest.Server, *rsa.PrivateKey, func() []middleware.AuditRecord) {
	t.Helper()
	rk := loadPrivateKey(t, "rsa.pem").(*rsa.PrivateKey)
	var vs []*token.Verifier
	for _, f := range idpFixtures() {
		vs = append(vs, fixtureVerifier(t, f, rk, f.profile))
	}
	auth, err := token.NewIssuers(vs...)
	require.NoError(t, err)
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	var mu sync.Mutex
	var records []middleware.AuditRecord
	mw, err := middleware.New(auth, policy, middleware.WithLogger(discardLogger), middleware.WithAudit(func(_ context.Context, r middleware.AuditRecord) {
		mu.Lock()
		records = append(records, r)
		mu.Unlock()
	}))
	require.NoError(t, err)
	srv := httptest.NewServer(mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":0}`))
	})))
	t.Cleanup(srv.Close)
	return srv, rk, func() []middleware.AuditRecord {
		mu.Lock()
		defer mu.Unlock()
		out := records
		records = nil
		return out
	}
}

func fixtureGet(t *testing.T, srv *httptest.Server, path, tok string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// TestIdentityProviderFixtures: the same FHIR requests get the same
// decisions whichever identity provider issued the token, and the audit
// record names the client.
func TestIdentityProviderFixtures(t *testing.T) {
	srv, rk, audit := fixtureServer(t)
	requests := []struct {
		path string
		want int
	}{
		{"/fhir/Observation?code=8867-4", http.StatusOK},
		{"/fhir/Observation/obs-1", http.StatusOK},
		{"/fhir/Patient/123", http.StatusForbidden},
		{"/fhir/Condition?code=38341003", http.StatusForbidden},
	}
	for _, f := range idpFixtures() {
		tok := signFixture(t, f, rk, fuzzNow, nil)
		for _, r := range requests {
			require.Equal(t, r.want, fixtureGet(t, srv, r.path, tok), "%s: GET %s", f.name, r.path)
		}
		recs := audit()
		require.Len(t, recs, len(requests))
		for _, rec := range recs {
			require.Equal(t, f.client, rec.ClientID, "%s: the audit record names the client", f.name)
		}
	}
}

// TestIdentityProviderFixturesHostile: each provider's token bent the way
// an attacker or a misconfiguration would bend it.
func TestIdentityProviderFixturesHostile(t *testing.T) {
	srv, rk, _ := fixtureServer(t)
	byName := map[string]idpFixture{}
	for _, f := range idpFixtures() {
		byName[f.name] = f
	}
	tests := []struct {
		name    string
		fixture string
		edit    map[string]any
		path    string
		want    int
	}{
		{"roles smuggling system/*.* past a profile that does not read roles", "keycloak", map[string]any{"roles": []string{"system/*.*"}}, "/fhir/Patient/123", http.StatusForbidden},
		{"permissions smuggling when scope is present", "auth0", map[string]any{"permissions": []string{"system/*.*"}}, "/fhir/Patient/123", http.StatusForbidden},
		{"Auth0 user's own permissions in a token granted no scope", "auth0", map[string]any{"scope": nil, "permissions": []string{"user/*.cruds"}}, "/fhir/Patient/123", http.StatusForbidden},
		{"roles smuggled next to Entra delegated scp", "entra-v2-delegated", map[string]any{"roles": []string{"system.all.cruds"}}, "/fhir/Patient/123", http.StatusForbidden},
		{"Okta scp as a string", "okta", map[string]any{"scp": "user/Observation.rs"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"Keycloak scope as an array", "keycloak", map[string]any{"scope": []string{"user/Observation.rs"}}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"Entra scp with a slash", "entra-v2-delegated", map[string]any{"scp": "user/Observation.rs"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"Entra roles as an object", "entra-v1-app-only", map[string]any{"roles": map[string]any{"0": "system.all.read"}}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"Ping client_id as a number", "ping", map[string]any{"client_id": 12}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"iss with a trailing slash", "ping", map[string]any{"iss": "https://pingfed.example.org:9031/"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"iss without Auth0's trailing slash", "auth0", map[string]any{"iss": "https://my-tenant.us.auth0.com"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"iss in another letter case", "okta", map[string]any{"iss": "https://DEV-133337.okta.com/oauth2/aus2u2c9qLOwxYCUd0h7"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"another provider's audience", "okta", map[string]any{"aud": "fhir-api"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
		{"an issuer not trusted", "smart", map[string]any{"iss": "https://evil.example/auth"}, "/fhir/Observation/obs-1", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		tok := signFixture(t, byName[tc.fixture], rk, fuzzNow, tc.edit)
		require.Equal(t, tc.want, fixtureGet(t, srv, tc.path, tok), tc.name)
	}
}

// TestIdentityProviderFixturesAreWhatTheVendorsSend guards the fixtures
// themselves: the providers whose claims differ from SMART's (Entra ID,
// Okta) must need their profile (read with the SMART one, the client or
// the scopes are lost). Keycloak, Auth0 and Ping tokens also read right as
// SMART ones; their profiles narrow what is read.
func TestIdentityProviderFixturesAreWhatTheVendorsSend(t *testing.T) {
	for _, f := range idpFixtures() {
		b, err := json.Marshal(f.claims)
		require.NoError(t, err)
		var back map[string]any
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, f.issuer, back["iss"], f.name)
		if f.profile.Name != "entra" && f.profile.Name != "okta" {
			continue
		}
		// Under the SMART mapping the client would be lost or the scopes
		// misread: the profile is what makes the fixture work.
		rk := loadPrivateKey(t, "rsa.pem").(*rsa.PrivateKey)
		v := fixtureVerifier(t, f, rk, token.ClaimMapping{})
		p, err := v.Authenticate(context.Background(), signFixture(t, f, rk, fuzzNow, nil))
		if err == nil {
			works := p.ClientID == f.client && p.Scopes.Permits(scope.User, "Observation", scope.Search) != scope.Denied
			require.False(t, works, "%s works without its profile", f.name)
		}
	}
}
