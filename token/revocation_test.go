package token_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// revocationSetup: an issuer with a resource-server client allowed to
// introspect, and a verifier checking revocation through it.
func revocationSetup(t *testing.T, cfg token.RevocationIntrospectorConfig) (*tokentest.Issuer, *testClock, *token.Verifier) {
	t.Helper()
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	cfg.Endpoint, cfg.ClientID, cfg.ClientSecret = iss.IntrospectionURL(), "rs", "rs-secret"
	rc, err := token.NewRevocationIntrospector(cfg, token.WithClock(clk.Now), token.WithLogger(discardLogger))
	require.NoError(t, err)
	return iss, clk, newVerifier(t, iss, clk, token.WithRevocation(rc))
}

func TestRevokedTokenIsRefused(t *testing.T) {
	iss, clk, v := revocationSetup(t, token.RevocationIntrospectorConfig{CacheTTL: 10 * time.Second})
	ctx := context.Background()
	raw := iss.Mint(map[string]any{"client_id": "app", "scope": "user/Patient.rs"})
	_, err := v.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), 1)
	_, err = v.Authenticate(ctx, raw)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), 1, "the answer is cached for CacheTTL")

	iss.Revoke(raw)
	clk.Advance(11 * time.Second)
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrInactive, raw)
	require.Contains(t, err.Error(), "revoked")
	// A revoked answer is final: the endpoint is not asked again.
	n := len(iss.IntrospectionRequests())
	clk.Advance(time.Minute)
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrInactive, raw)
	require.Len(t, iss.IntrospectionRequests(), n)

	// Other tokens are unaffected.
	_, err = v.Authenticate(ctx, iss.Mint(nil))
	require.NoError(t, err)
}

// TestRevocationEndpointDown: fail closed, except within the stale window
// of an answer that was fresh.
func TestRevocationEndpointDown(t *testing.T) {
	iss, clk, v := revocationSetup(t, token.RevocationIntrospectorConfig{CacheTTL: 10 * time.Second, StaleWindow: 20 * time.Second})
	ctx := context.Background()
	known := iss.Mint(nil)
	_, err := v.Authenticate(ctx, known)
	require.NoError(t, err)

	iss.FailIntrospection(http.StatusServiceUnavailable)
	fresh := iss.Mint(map[string]any{"sub": "never-introspected"})
	_, err = v.Authenticate(ctx, fresh)
	requireRejected(t, err, token.ErrIssuerUnavailable, fresh)

	clk.Advance(25 * time.Second) // past CacheTTL, within CacheTTL + StaleWindow
	_, err = v.Authenticate(ctx, known)
	require.NoError(t, err, "a recent active answer serves within the stale window")

	clk.Advance(10 * time.Second) // past the stale window
	_, err = v.Authenticate(ctx, known)
	requireRejected(t, err, token.ErrIssuerUnavailable, known)

	iss.FailIntrospection(0)
	_, err = v.Authenticate(ctx, known)
	require.NoError(t, err, "recovers when the endpoint does")
}

func TestRevocationFuncAndConfig(t *testing.T) {
	iss, clk := newIssuer(t)
	var asked []string
	v := newVerifier(t, iss, clk, token.WithRevocation(token.RevocationFunc(func(_ context.Context, _ string, p *token.Principal) (bool, error) {
		asked = append(asked, p.TokenID)
		switch p.Subject {
		case "revoked":
			return true, nil
		case "unknown":
			return false, errors.New("revocation list unavailable")
		}
		return false, nil
	})))
	ctx := context.Background()
	ok := iss.Mint(map[string]any{"jti": "j1"})
	_, err := v.Authenticate(ctx, ok)
	require.NoError(t, err)
	_, err = v.Authenticate(ctx, ok)
	require.NoError(t, err)
	require.Equal(t, []string{"j1", "j1"}, asked, "asked on cache hits too")
	raw := iss.Mint(map[string]any{"sub": "revoked"})
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrInactive, raw)
	raw = iss.Mint(map[string]any{"sub": "unknown"})
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrIssuerUnavailable, raw)

	for _, cfg := range []token.RevocationIntrospectorConfig{
		{},
		{Endpoint: "http://idp.example/introspect", ClientID: "a", ClientSecret: "b"},
		{Endpoint: iss.IntrospectionURL(), ClientID: "a"},
		{Endpoint: iss.IntrospectionURL(), ClientID: "a", ClientSecret: "b", CacheTTL: time.Hour},
		{Endpoint: iss.IntrospectionURL(), ClientID: "a", ClientSecret: "b", StaleWindow: -time.Second},
	} {
		_, err := token.NewRevocationIntrospector(cfg)
		require.ErrorIs(t, err, token.ErrConfig, "%+v", cfg)
	}
	good := token.RevocationIntrospectorConfig{Endpoint: iss.IntrospectionURL(), ClientID: "a", ClientSecret: "b"}
	for _, opt := range []token.IntrospectorOption{
		token.WithLeeway(0), token.WithLenientScopes(), token.WithMaxTokenSize(1024), token.WithTokenCache(10, time.Minute),
	} {
		_, err := token.NewRevocationIntrospector(good, opt)
		require.ErrorIs(t, err, token.ErrConfig, "an option it would ignore is refused")
	}
	_, err = token.NewRevocationIntrospector(good, token.WithClock(clk.Now), token.WithLogger(slog.Default()), token.WithInsecureHTTP())
	require.NoError(t, err)
	_, err = token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: "a", JWKSURL: iss.JWKSURL()}, token.WithRevocation(nil))
	require.ErrorIs(t, err, token.ErrConfig)
}
