package token_test

import (
	"context"
	"crypto/rsa"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// lookAlikeClients are client ids that a person might read as "app-1"
// (or its list neighbour "app-2"), none of them exactly on the list.
func lookAlikeClients() map[string]string {
	return map[string]string{
		"another letter case":        "App-1",
		"upper case":                 "APP-1",
		"trailing space":             "app-1 ",
		"leading space":              " app-1",
		"zero-width space":           "app-1\u200b",
		"Cyrillic a":                 "\u0430pp-1",
		"fullwidth digit":            "app-\uff11",
		"non-breaking hyphen":        "app\u20111",
		"NUL appended":               "app-1\x00",
		"prefix":                     "app-",
		"longer":                     "app-12",
		"both joined":                "app-1 app-2",
		"another client":             "evil-app",
		"combining mark":             "app-1\u0301",
		"long id, clipped in errors": "app-1" + strings.Repeat("x", 300),
	}
}

// TestAllowedClients: with WithAllowedClients a token is accepted only
// when its client id (client_id, else azp) is exactly on the list; an
// empty or missing one is refused too. The refusal is ErrClient, and its
// text names the client id, clipped.
func TestAllowedClients(t *testing.T) {
	ctx := context.Background()
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	v := newVerifier(t, iss, clk, token.WithAllowedClients("app-1", "app-2"))
	in := newIntrospector(t, iss, clk, nil, token.WithAllowedClients("app-1", "app-2"), token.WithTokenCache(10, time.Minute))

	for authName, a := range map[string]struct {
		auth token.Authenticator
		mint func(map[string]any) string
	}{
		"verifier":     {v, iss.Mint},
		"introspector": {in, iss.MintOpaque},
	} {
		t.Run(authName, func(t *testing.T) {
			for _, claims := range []map[string]any{
				{"client_id": "app-1"},
				{"client_id": "app-2", "azp": "evil-app"},
				{"azp": "app-2"},
			} {
				p, err := a.auth.Authenticate(ctx, a.mint(claims))
				require.NoError(t, err, "%v", claims)
				require.Contains(t, []string{"app-1", "app-2"}, p.ClientID)
			}
			for name, id := range lookAlikeClients() {
				raw := a.mint(map[string]any{"client_id": id, "scope": "system/*.cruds"})
				for range 2 { // a refusal is not cached: the second use is refused too
					p, err := a.auth.Authenticate(ctx, raw)
					require.Nil(t, p, name)
					requireRejected(t, err, token.ErrClient, raw)
					clipped := id
					if len(clipped) > 24 {
						clipped = clipped[:24]
						require.NotContains(t, err.Error(), id, "%s: the client id is clipped", name)
					}
					require.Contains(t, err.Error(), strconv.Quote(clipped), "%s: the error names the client id", name)
				}
			}
			for name, claims := range map[string]map[string]any{
				"no client id":                      {},
				"empty client_id":                   {"client_id": ""},
				"empty azp":                         {"azp": ""},
				"empty client_id and azp":           {"client_id": "", "azp": ""},
				"allowed azp, client_id another":    {"client_id": "evil-app", "azp": "app-1"},
				"no client_id, azp in another case": {"client_id": nil, "azp": "App-1"},
			} {
				raw := a.mint(claims)
				p, err := a.auth.Authenticate(ctx, raw)
				require.Nil(t, p, name)
				requireRejected(t, err, token.ErrClient, raw)
			}
		})
	}

	// The check runs before a Principal is cached: a refused opaque token
	// is introspected again on its next use, an accepted one is not.
	refused := iss.MintOpaque(map[string]any{"client_id": "App-1"})
	n := len(iss.IntrospectionRequests())
	for range 3 {
		_, err := in.Authenticate(ctx, refused)
		requireRejected(t, err, token.ErrClient, refused)
	}
	require.Len(t, iss.IntrospectionRequests(), n+3, "a refused answer is never cached")
	accepted := iss.MintOpaque(map[string]any{"client_id": "app-1"})
	for range 3 {
		_, err := in.Authenticate(ctx, accepted)
		require.NoError(t, err)
	}
	require.Len(t, iss.IntrospectionRequests(), n+4, "an accepted answer is cached")
}

// TestAllowedClientsPerIssuer: each issuer's Verifier has its own list, so
// a client id allowed at one identity provider is refused in a token of
// another.
func TestAllowedClientsPerIssuer(t *testing.T) {
	ctx := context.Background()
	rk := loadPrivateKey(t, "rsa.pem").(*rsa.PrivateKey)
	byName := map[string]idpFixture{}
	for _, f := range idpFixtures() {
		byName[f.name] = f
	}
	entra, okta := byName["entra-v2-delegated"], byName["okta"]
	auth, err := token.NewIssuers(
		fixtureVerifier(t, entra, rk, entra.profile, token.WithAllowedClients(entra.client)),
		fixtureVerifier(t, okta, rk, okta.profile, token.WithAllowedClients(okta.client)),
	)
	require.NoError(t, err)
	for _, f := range []idpFixture{entra, okta} {
		p, err := auth.Authenticate(ctx, signFixture(t, f, rk, fuzzNow, nil))
		require.NoError(t, err, f.name)
		require.Equal(t, f.client, p.ClientID)
	}
	for name, tc := range map[string]struct {
		f    idpFixture
		edit map[string]any
	}{
		"Okta's client in an Entra token":      {entra, map[string]any{"azp": okta.client}},
		"Entra's client in an Okta token":      {okta, map[string]any{"cid": entra.client}},
		"Entra client id in upper case":        {entra, map[string]any{"azp": strings.ToUpper(entra.client)}},
		"Entra v2 token without azp":           {entra, map[string]any{"azp": nil}},
		"Entra v1 appid of the allowed client": {entra, map[string]any{"azp": nil, "appid": strings.ToUpper(entra.client)}},
		"Okta cid with a trailing newline":     {okta, map[string]any{"cid": okta.client + "\n"}},
	} {
		raw := signFixture(t, tc.f, rk, fuzzNow, tc.edit)
		p, err := auth.Authenticate(ctx, raw)
		require.Nil(t, p, name)
		requireRejected(t, err, token.ErrClient, raw)
	}
}

// TestAllowedClientsConfig: an empty list or an empty id is a
// configuration error (an empty id would admit tokens without a client),
// and a RevocationIntrospector, which does not validate tokens, refuses
// the option.
func TestAllowedClientsConfig(t *testing.T) {
	iss, _ := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	cfg := token.IntrospectorConfig{Endpoint: iss.IntrospectionURL(), ClientID: "rs", ClientSecret: "rs-secret", Issuer: iss.URL, Audience: iss.Audience()}
	for name, opt := range map[string]token.CommonOption{
		"no ids":   token.WithAllowedClients(),
		"empty id": token.WithAllowedClients("app-1", ""),
	} {
		_, err := token.NewIntrospector(cfg, opt)
		require.ErrorIs(t, err, token.ErrConfig, name)
		_, err = token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()}, opt)
		require.ErrorIs(t, err, token.ErrConfig, name)
	}
	_, err := token.NewRevocationIntrospector(token.RevocationIntrospectorConfig{
		Endpoint: iss.IntrospectionURL(), ClientID: "rs", ClientSecret: "rs-secret",
	}, token.WithAllowedClients("app-1"))
	require.ErrorIs(t, err, token.ErrConfig)
}
