package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

func TestVerifierPrincipal(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	now := clk.Now()
	raw := iss.Mint(map[string]any{
		"sub": "alice", "client_id": "app", "jti": "t-1",
		"scope":   "launch/patient openid fhirUser patient/Observation.rs patient/Patient.read",
		"patient": "123", "encounter": "enc-9", "fhirUser": "Practitioner/7",
		"nbf": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(time.Hour).Unix(), "custom": map[string]any{"a": []any{1.5, true, nil}},
	})
	p, err := v.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Subject)
	require.Equal(t, "app", p.ClientID)
	require.Equal(t, iss.URL, p.Issuer)
	require.Equal(t, []string{iss.Audience()}, p.Audience)
	require.Equal(t, "123", p.Patient)
	require.Equal(t, "enc-9", p.Encounter)
	require.Equal(t, "Practitioner/7", p.FHIRUser)
	require.Equal(t, "t-1", p.TokenID)
	require.Equal(t, now.Add(time.Hour).Unix(), p.ExpiresAt.Unix())
	require.Equal(t, now.Add(-time.Minute).Unix(), p.NotBefore.Unix())
	require.Equal(t, now.Add(-time.Minute).Unix(), p.IssuedAt.Unix())
	require.Equal(t, scope.Unconstrained, p.Scopes.Permits(scope.Patient, "Observation", scope.Read|scope.Search))
	require.Equal(t, scope.Denied, p.Scopes.Permits(scope.Patient, "Observation", scope.Create))
	require.True(t, p.Scopes.Has("launch/patient"))
	custom, ok := p.Claim("custom")
	require.True(t, ok)
	require.Equal(t, map[string]any{"a": []any{1.5, true, nil}}, custom)
	sub, _ := p.Claim("sub")
	require.Equal(t, "alice", sub)
	_, ok = p.Claim("SUB")
	require.False(t, ok, "claim names are exact")

	// Claims are the verified payload, decoded afresh on every call.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	require.NoError(t, err)
	var want map[string]any
	require.NoError(t, json.Unmarshal(payload, &want))
	claims, err := p.Claims()
	require.NoError(t, err)
	require.Equal(t, want, claims)
	claims["sub"] = "mallory"
	cached, err := v.Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Same(t, p, cached)
	sub, _ = cached.Claim("sub")
	require.Equal(t, "alice", sub, "a caller's map is its own")
}

// TestVerifierSharedAudience: Principals whose aud is the configured
// audience share the configuration's strings, and a caller appending to
// one Principal's Audience changes neither the configuration nor another
// Principal.
func TestVerifierSharedAudience(t *testing.T) {
	iss, clk := newIssuer(t)
	ctx := context.Background()
	v, err := token.NewVerifier(ctx, token.Config{
		Issuer: iss.URL, Audience: iss.Audience(), Audiences: []string{"https://fhir.example.org/alt"}, JWKSURL: iss.JWKSURL(),
	}, token.WithClock(clk.Now), token.WithLogger(discardLogger))
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })

	p, err := v.Authenticate(ctx, iss.Mint(map[string]any{"sub": "a"}))
	require.NoError(t, err)
	require.Equal(t, []string{iss.Audience()}, p.Audience)
	require.Equal(t, iss.URL, p.Issuer)
	grown := append(p.Audience, "https://evil.example")
	require.Len(t, grown, 2)

	alt, err := v.Authenticate(ctx, iss.Mint(map[string]any{"sub": "b", "aud": "https://fhir.example.org/alt"}))
	require.NoError(t, err, "the configured audiences are unchanged")
	require.Equal(t, []string{"https://fhir.example.org/alt"}, alt.Audience)
	both, err := v.Authenticate(ctx, iss.Mint(map[string]any{"sub": "c", "aud": []any{"https://fhir.example.org/alt", iss.Audience(), "account"}}))
	require.NoError(t, err)
	require.Equal(t, []string{"https://fhir.example.org/alt", iss.Audience(), "account"}, both.Audience)
	require.Equal(t, []string{iss.Audience()}, p.Audience)
}

// TestPrincipalSetClaims: claims given to a Principal built by hand are
// checked as strictly as a token's.
func TestPrincipalSetClaims(t *testing.T) {
	var p token.Principal
	claims, err := p.Claims()
	require.NoError(t, err)
	require.Empty(t, claims, "a Principal built without claims has none")
	_, ok := p.Claim("sub")
	require.False(t, ok)

	require.NoError(t, p.SetClaims([]byte(` {"sub":"alice","n":[1,{"x":null}]}`)))
	claims, err = p.Claims()
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sub": "alice", "n": []any{1.0, map[string]any{"x": nil}}}, claims)

	for _, hostile := range []string{
		`{"sub":"alice","sub":"mallory"}`,  // duplicate
		`{"sub":"alice","\u0073ub":"bob"}`, // duplicate once unescaped
		`{"sub":"alice","SUB":"mallory"}`,  // case variant
		`{"sub":"alice"} {}`, `["sub"]`, `{"sub":"\ud800"}`, "{\"sub\":\"\xff\"}", ``, `eyJzdWIiOiJhIn0`,
	} {
		err := p.SetClaims([]byte(hostile))
		require.ErrorIs(t, err, token.ErrMalformed, "%q", hostile)
		sub, _ := p.Claim("sub")
		require.Equal(t, "alice", sub, "%q: a refused claim set leaves the Principal as it was", hostile)
	}
}

func TestVerifierClaimVariants(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	lenient := newVerifier(t, iss, clk, token.WithLenientScopes())
	now := clk.Now()
	ctx := context.Background()

	t.Run("scp array", func(t *testing.T) {
		p, err := v.Authenticate(ctx, iss.Mint(map[string]any{"scp": []string{"user/Patient.rs", "openid"}}))
		require.NoError(t, err)
		require.Equal(t, scope.Unconstrained, p.Scopes.Permits(scope.User, "Patient", scope.Search))
		require.True(t, p.Scopes.Has("openid"))
	})
	t.Run("scp string", func(t *testing.T) {
		p, err := v.Authenticate(ctx, iss.Mint(map[string]any{"scp": "user/Patient.rs openid"}))
		require.NoError(t, err)
		require.Equal(t, 2, p.Scopes.Len())
	})
	t.Run("no scope at all", func(t *testing.T) {
		p, err := v.Authenticate(ctx, iss.Mint(map[string]any{"sub": "s"}))
		require.NoError(t, err)
		require.Equal(t, 0, p.Scopes.Len())
	})
	t.Run("client_id falls back to azp", func(t *testing.T) {
		p, err := v.Authenticate(ctx, iss.Mint(map[string]any{"azp": "from-azp"}))
		require.NoError(t, err)
		require.Equal(t, "from-azp", p.ClientID)
		p, err = v.Authenticate(ctx, iss.Mint(map[string]any{"azp": "from-azp", "client_id": "cid"}))
		require.NoError(t, err)
		require.Equal(t, "cid", p.ClientID)
	})
	t.Run("aud array containing ours", func(t *testing.T) {
		p, err := v.Authenticate(ctx, iss.Mint(map[string]any{"aud": []string{"account", iss.Audience()}}))
		require.NoError(t, err)
		require.Equal(t, []string{"account", iss.Audience()}, p.Audience)
	})
	t.Run("expired within leeway", func(t *testing.T) {
		_, err := v.Authenticate(ctx, iss.Mint(map[string]any{"exp": now.Add(-30 * time.Second).Unix()}))
		require.NoError(t, err)
	})
	t.Run("nbf within leeway", func(t *testing.T) {
		_, err := v.Authenticate(ctx, iss.Mint(map[string]any{"nbf": now.Add(30 * time.Second).Unix()}))
		require.NoError(t, err)
	})
	t.Run("fractional exp", func(t *testing.T) {
		_, err := v.Authenticate(ctx, iss.Mint(map[string]any{"exp": float64(now.Add(time.Hour).Unix()) + 0.5}))
		require.NoError(t, err)
	})
	t.Run("null optional claims are absent", func(t *testing.T) {
		raw := iss.SignRaw(mustJSON(t, map[string]any{"alg": "RS256", "kid": kidOf(iss, "RS256")}),
			[]byte(`{"iss":"`+iss.URL+`","aud":"`+iss.Audience()+`","exp":`+jsonNum(now.Add(time.Hour))+`,"patient":null,"nbf":null}`), "RS256", nil)
		p, err := v.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.Empty(t, p.Patient)
	})
	t.Run("lenient scopes keep the valid ones", func(t *testing.T) {
		raw := iss.Mint(map[string]any{"scope": "user/Patient.read patient/Observation.rx"})
		_, err := v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrScope, raw)
		p, err := lenient.Authenticate(ctx, raw)
		require.NoError(t, err)
		require.Equal(t, 1, p.Scopes.Len())
		require.Equal(t, scope.Unconstrained, p.Scopes.Permits(scope.User, "Patient", scope.Read))
	})
	t.Run("ES256", func(t *testing.T) {
		p, err := v.Authenticate(ctx, iss.MintES256(map[string]any{"sub": "es"}))
		require.NoError(t, err)
		require.Equal(t, "es", p.Subject)
	})
	t.Run("RS384 and ES384 are on the default list", func(t *testing.T) {
		for _, alg := range []string{"RS384", "ES384"} {
			raw := iss.MintWith(alg, nil, map[string]any{"sub": alg})
			p, err := v.Authenticate(ctx, raw)
			if err != nil {
				// A key published after the verifier's first fetch needs one refetch,
				// which the rate limit may defer.
				clk.Advance(11 * time.Second)
				p, err = v.Authenticate(ctx, raw)
			}
			require.NoError(t, err, alg)
			require.Equal(t, alg, p.Subject)
		}
	})
}

func kidOf(iss *tokentest.Issuer, alg string) string {
	_, kid := iss.SigningKey(alg)
	return kid
}

func TestVerifierOptInAlgorithms(t *testing.T) {
	iss, clk := newIssuer(t)
	ctx := context.Background()
	// Publish the keys before the verifiers' first fetch.
	toks := map[string]string{}
	for _, alg := range []string{"PS256", "PS384", "EdDSA", "RS512", "ES512"} {
		toks[alg] = iss.MintWith(alg, nil, map[string]any{"sub": alg})
	}
	def := newVerifier(t, iss, clk)
	opt := newVerifier(t, iss, clk, token.WithAlgorithms("RS256", "PS256", "PS384", "EdDSA"))
	for alg, raw := range toks {
		_, err := def.Authenticate(ctx, raw)
		if strings.HasPrefix(alg, "PS") { // PS256/384/512 are on the default list
			require.NoError(t, err, alg)
		} else {
			requireRejected(t, err, token.ErrAlgorithm, raw)
		}
		p, err := opt.Authenticate(ctx, raw)
		if alg == "RS512" || alg == "ES512" {
			requireRejected(t, err, token.ErrAlgorithm, raw)
			continue
		}
		require.NoError(t, err, alg)
		require.Equal(t, alg, p.Subject)
	}
	// RS256 is still accepted; ES256 is not (not listed).
	_, err := opt.Authenticate(ctx, iss.Mint(nil))
	require.NoError(t, err)
	raw := iss.MintES256(nil)
	_, err = opt.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrAlgorithm, raw)
}

func TestVerifierRequireATJWT(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk, token.WithRequireATJWT())
	ctx := context.Background()
	_, err := v.Authenticate(ctx, iss.Mint(nil)) // typ at+jwt
	require.NoError(t, err)
	_, err = v.Authenticate(ctx, iss.MintWith("RS256", map[string]any{"typ": "application/at+jwt"}, nil))
	require.NoError(t, err)
	for _, typ := range []any{"JWT", nil, "at+jwt+x"} {
		raw := iss.MintWith("RS256", map[string]any{"typ": typ}, nil)
		_, err = v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrMalformed, raw)
	}
	// Without the option, typ JWT is fine.
	_, err = newVerifier(t, iss, clk).Authenticate(ctx, iss.MintWith("RS256", map[string]any{"typ": "JWT"}, nil))
	require.NoError(t, err)
}

func TestVerifierMaxTokenSize(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk, token.WithMaxTokenSize(1024))
	raw := iss.Mint(map[string]any{"pad": string(make([]byte, 600))})
	require.Greater(t, len(raw), 1024)
	_, err := v.Authenticate(context.Background(), raw)
	requireRejected(t, err, token.ErrMalformed, raw)
	require.Contains(t, err.Error(), "limit is 1024")
}

func TestNewVerifierConfig(t *testing.T) {
	set := jwk.NewSet()
	ok := token.Config{Issuer: "https://idp.example", Audience: "https://fhir.example", JWKSURL: "https://idp.example/jwks"}
	secret := make([]byte, 64)
	tests := []struct {
		name string
		cfg  token.Config
		opts []token.VerifierOption
	}{
		{"missing issuer", token.Config{Audience: "a", JWKSURL: ok.JWKSURL}, nil},
		{"missing audience", token.Config{Issuer: "i", JWKSURL: ok.JWKSURL}, nil},
		{"no key source", token.Config{Issuer: "i", Audience: "a"}, nil},
		{"both key sources", token.Config{Issuer: "i", Audience: "a", JWKSURL: ok.JWKSURL, Keys: set}, nil},
		{"empty static key set", token.Config{Issuer: "i", Audience: "a", Keys: set}, nil},
		{"plain http JWKS", token.Config{Issuer: "i", Audience: "a", JWKSURL: "http://idp.example/jwks"}, nil},
		{"relative JWKS URL", token.Config{Issuer: "i", Audience: "a", JWKSURL: "/jwks"}, nil},
		{"empty algorithm list", ok, []token.VerifierOption{token.WithAlgorithms()}},
		{"alg none", ok, []token.VerifierOption{token.WithAlgorithms("none")}},
		{"unknown alg", ok, []token.VerifierOption{token.WithAlgorithms("RS256", "XS256")}},
		{"HS256 without secret", ok, []token.VerifierOption{token.WithAlgorithms("HS256")}},
		{"secret without HS alg", ok, []token.VerifierOption{token.WithSharedSecret(secret)}},
		{"short secret", ok, []token.VerifierOption{token.WithAlgorithms("HS256"), token.WithSharedSecret(secret[:16])}},
		{"short secret for HS512", ok, []token.VerifierOption{token.WithAlgorithms("HS512"), token.WithSharedSecret(secret[:32])}},
		{"negative leeway", ok, []token.VerifierOption{token.WithLeeway(-time.Second)}},
		{"huge leeway", ok, []token.VerifierOption{token.WithLeeway(time.Hour)}},
		{"tiny token limit", ok, []token.VerifierOption{token.WithMaxTokenSize(10)}},
		{"refetch interval too small", ok, []token.VerifierOption{token.WithRefetchInterval(time.Millisecond)}},
		{"refresh bounds inverted", ok, []token.VerifierOption{token.WithRefreshBounds(time.Hour, time.Minute)}},
		{"cache without TTL", ok, []token.VerifierOption{token.WithTokenCache(10, 0)}},
		{"negative cache size", ok, []token.VerifierOption{token.WithTokenCache(-1, time.Minute)}},
		{"nil logger", ok, []token.VerifierOption{token.WithLogger(nil)}},
		{"nil option", ok, []token.VerifierOption{nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := token.NewVerifier(context.Background(), tc.cfg, tc.opts...)
			require.ErrorIs(t, err, token.ErrConfig)
			require.Nil(t, v)
		})
	}

	// HS-only with a secret needs no key source.
	v, err := token.NewVerifier(context.Background(), token.Config{Issuer: "i", Audience: "a"},
		token.WithAlgorithms("HS256"), token.WithSharedSecret(secret[:32]))
	require.NoError(t, err)
	require.NoError(t, v.Close())
}
