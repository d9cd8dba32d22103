package authserver

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func introspect(t *testing.T, s *Server, tok string) response {
	t.Helper()
	return do(t, s, request{path: IntrospectionPath, form: url.Values{"token": {tok}}, header: map[string]string{"Authorization": basic("reader", "r3ader")}})
}

func TestIntrospectionActive(t *testing.T) {
	s, clock := newTestServer(t)
	res := tokenRequest(t, s, "patient-app", "p@ss:word", url.Values{"scope": {"patient/Observation.rs"}})
	require.Equal(t, http.StatusOK, res.status)
	tok := res.body["access_token"].(string)

	in := introspect(t, s, tok)
	require.Equal(t, http.StatusOK, in.status, in.raw)
	assert.Equal(t, "no-store", in.header.Get("Cache-Control"))
	assert.Equal(t, true, in.body["active"])
	assert.Equal(t, "patient/Observation.rs", in.body["scope"])
	assert.Equal(t, "patient-app", in.body["client_id"])
	assert.Equal(t, "patient-app", in.body["sub"])
	assert.Equal(t, "pat-1", in.body["patient"])
	assert.Equal(t, testIssuer, in.body["iss"])
	assert.Equal(t, testAudience, in.body["aud"])
	assert.Equal(t, "Bearer", in.body["token_type"])
	assert.EqualValues(t, clock.Now().Unix(), in.body["iat"])
	assert.EqualValues(t, clock.Now().Add(DefaultTokenLifetime).Unix(), in.body["exp"])

	// Other client authentication methods work too.
	post := do(t, s, request{path: IntrospectionPath, form: url.Values{"token": {tok}, "client_id": {"reader"}, "client_secret": {"r3ader"}}})
	assert.Equal(t, true, post.body["active"])
	a := assertion(t, clock.Now(), clientKeys(t).rsa, "RS384", nil, nil)
	pkj := do(t, s, request{path: IntrospectionPath, form: url.Values{"token": {tok}, "client_assertion_type": {ClientAssertionType}, "client_assertion": {a}}})
	assert.Equal(t, true, pkj.body["active"])
}

func TestIntrospectionInactive(t *testing.T) {
	s, clock := newTestServer(t)
	other, _ := newTestServer(t)
	now := clock.Now()
	mint := func(claims map[string]any) string {
		tok, err := s.Mint(claims)
		require.NoError(t, err)
		return tok
	}
	foreign, err := other.Mint(nil)
	require.NoError(t, err)
	revoked := mint(nil)
	s.Revoke(revoked)
	valid := mint(nil)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + strings.Split(mint(map[string]any{"scope": "system/*.*"}), ".")[1] + "." + parts[2]
	es, err := s.MintWith("ES256", nil)
	require.NoError(t, err)
	esParts := strings.Split(es, ".")
	rsHeader := strings.Split(valid, ".")[0]

	tests := map[string]string{
		"expired":                      mint(map[string]any{"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Second).Unix()}),
		"exp now":                      mint(map[string]any{"exp": now.Unix()}),
		"no exp":                       mint(map[string]any{"exp": nil}),
		"exp as string":                mint(map[string]any{"exp": "99999999999"}),
		"not yet valid":                mint(map[string]any{"nbf": now.Add(time.Minute).Unix()}),
		"wrong issuer":                 mint(map[string]any{"iss": "https://evil.example"}),
		"no issuer":                    mint(map[string]any{"iss": nil}),
		"revoked":                      revoked,
		"other server's key":           foreign,
		"payload swapped":              tampered,
		"header of another alg":        rsHeader + "." + esParts[1] + "." + esParts[2],
		"garbage":                      "garbage",
		"empty segments":               "..",
		"alg none":                     noneToken(t, s),
		"crit header":                  mustMintHeaders(t, s, map[string]any{"crit": []string{"x"}, "x": 1}),
		"oversized":                    strings.Repeat("a", maxTokenBytes+1),
		"unknown opaque":               randomID() + randomID(),
		"kid of a key with other alg":  mustMintHeaders(t, s, map[string]any{"kid": s.KeyIDs()[1]}),
		"kid missing":                  mustMintHeaders(t, s, map[string]any{"kid": nil}),
		"valid JWT with trailing junk": valid + ".x",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			in := introspect(t, s, tok)
			require.Equal(t, http.StatusOK, in.status, in.raw)
			assert.Equal(t, map[string]any{"active": false}, in.body)
		})
	}
	assert.Equal(t, true, introspect(t, s, valid).body["active"], "control")
	clock.Advance(DefaultTokenLifetime)
	assert.Equal(t, false, introspect(t, s, valid).body["active"], "expired by the clock")
}

func noneToken(t *testing.T, s *Server) string {
	t.Helper()
	tok, err := SignCompact([]byte(`{"alg":"none","kid":"`+s.KeyIDs()[0]+`"}`), []byte(`{"iss":"`+testIssuer+`","exp":99999999999}`), "none", nil)
	require.NoError(t, err)
	return tok
}

func mustMintHeaders(t *testing.T, s *Server, header map[string]any) string {
	t.Helper()
	tok, err := s.MintWithHeaders("RS256", header, nil)
	require.NoError(t, err)
	return tok
}

func TestIntrospectionRefusals(t *testing.T) {
	s, _ := newTestServer(t)
	tok, err := s.Mint(nil)
	require.NoError(t, err)
	res := do(t, s, request{path: IntrospectionPath, form: url.Values{"token": {tok}}})
	assert.Equal(t, http.StatusUnauthorized, res.status)
	assert.Equal(t, "invalid_client", res.body["error"])
	assert.NotContains(t, res.body, "active")

	res = do(t, s, request{path: IntrospectionPath, form: url.Values{"token": {tok}}, header: map[string]string{"Authorization": basic("reader", "nope")}})
	assert.Equal(t, http.StatusUnauthorized, res.status)

	res = do(t, s, request{path: IntrospectionPath, form: url.Values{}, header: map[string]string{"Authorization": basic("reader", "r3ader")}})
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "invalid_request", res.body["error"])

	res = do(t, s, request{method: http.MethodGet, path: IntrospectionPath})
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	assert.Equal(t, http.MethodPost, res.header.Get("Allow"))
}

func TestRevocationEndpoint(t *testing.T) {
	s, _ := newTestServer(t)
	res := tokenRequest(t, s, "reader", "r3ader", nil)
	tok := res.body["access_token"].(string)

	// Another client may not revoke it.
	rv := do(t, s, request{path: RevocationPath, form: url.Values{"token": {tok}}, header: map[string]string{"Authorization": basic("patient-access", "s3cret")}})
	assert.Equal(t, http.StatusBadRequest, rv.status)
	assert.Equal(t, "unauthorized_client", rv.body["error"])
	assert.Equal(t, true, introspect(t, s, tok).body["active"])

	// Unknown tokens: 200 (RFC 7009 2.2).
	rv = do(t, s, request{path: RevocationPath, form: url.Values{"token": {"unknown"}}, header: map[string]string{"Authorization": basic("reader", "r3ader")}})
	assert.Equal(t, http.StatusOK, rv.status)

	rv = do(t, s, request{path: RevocationPath, form: url.Values{"token": {tok}}, header: map[string]string{"Authorization": basic("reader", "r3ader")}})
	assert.Equal(t, http.StatusOK, rv.status)
	assert.Equal(t, false, introspect(t, s, tok).body["active"])

	rv = do(t, s, request{path: RevocationPath, form: url.Values{"token": {tok}}})
	assert.Equal(t, http.StatusUnauthorized, rv.status)
}

func TestOpaqueTokens(t *testing.T) {
	s, clock := newTestServer(t, func(c *Config) { c.OpaqueTokens = true })
	res := tokenRequest(t, s, "patient-app", "p@ss:word", nil)
	require.Equal(t, http.StatusOK, res.status)
	tok := res.body["access_token"].(string)
	assert.NotContains(t, tok, ".")
	in := introspect(t, s, tok)
	assert.Equal(t, true, in.body["active"])
	assert.Equal(t, "pat-1", in.body["patient"])
	assert.Equal(t, "patient/*.rs launch/patient", in.body["scope"])

	s.Revoke(tok)
	assert.Equal(t, false, introspect(t, s, tok).body["active"])

	tok2 := s.MintOpaque(map[string]any{"sub": "x"})
	assert.Equal(t, true, introspect(t, s, tok2).body["active"])
	clock.Advance(DefaultTokenLifetime + time.Second)
	assert.Equal(t, false, introspect(t, s, tok2).body["active"])
}

func TestRevokedIsTheRevocationList(t *testing.T) {
	s, _ := newTestServer(t)
	tok, err := s.Mint(nil)
	require.NoError(t, err)
	other, err := s.Mint(nil)
	require.NoError(t, err)
	require.False(t, s.Revoked(tok))
	s.Revoke(tok)
	require.True(t, s.Revoked(tok))
	require.False(t, s.Revoked(other))
	require.False(t, s.Revoked(""))
	require.False(t, s.Revoked(strings.Repeat("a", maxTokenBytes+1)))
}
