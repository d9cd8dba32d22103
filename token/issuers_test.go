package token_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// twoIssuers trusts a staff issuer (SMART claims) and a portal issuer
// (Okta claims) on one clock; a third issuer exists but is not trusted.
func twoIssuers(t *testing.T) (staff, portal, third *tokentest.Issuer, is *token.Issuers, clk *testClock) {
	t.Helper()
	clk = newTestClock()
	mk := func() *tokentest.Issuer {
		iss := tokentest.NewIssuer(tokentest.WithClock(clk.Now))
		t.Cleanup(iss.Close)
		return iss
	}
	staff, portal, third = mk(), mk(), mk()
	vs := newVerifier(t, staff, clk)
	vp, err := token.NewVerifier(context.Background(), token.Config{
		Issuer: portal.URL, Audience: portal.Audience(), JWKSURL: portal.JWKSURL(), Claims: token.OktaClaims,
	}, token.WithClock(clk.Now), token.WithLogger(discardLogger))
	require.NoError(t, err)
	t.Cleanup(func() { _ = vp.Close() })
	is, err = token.NewIssuers(vs, vp)
	require.NoError(t, err)
	return staff, portal, third, is, clk
}

func TestIssuersSelectByIss(t *testing.T) {
	staff, portal, third, is, _ := twoIssuers(t)
	ctx := context.Background()
	require.Equal(t, []string{staff.URL, portal.URL}, is.List())

	p, err := is.Authenticate(ctx, staff.Mint(map[string]any{"client_id": "staff-app", "scope": "user/Patient.rs"}))
	require.NoError(t, err)
	require.Equal(t, staff.URL, p.Issuer)
	require.Equal(t, "staff-app", p.ClientID)

	portalTok := portal.Mint(map[string]any{"cid": "portal-app", "scp": []string{"patient/Observation.rs"}, "patient": "123"})
	p, err = is.Authenticate(ctx, portalTok)
	require.NoError(t, err)
	require.Equal(t, "portal-app", p.ClientID, "the portal's verifier uses its own (Okta) claim mapping")
	again, err := is.Authenticate(ctx, portalTok)
	require.NoError(t, err)
	require.Same(t, p, again, "a second use is a cache hit")

	// Each mapping is its issuer's alone: the staff issuer's SMART mapping
	// does not read Okta's cid.
	p, err = is.Authenticate(ctx, staff.Mint(map[string]any{"cid": "x", "client_id": nil}))
	require.NoError(t, err)
	require.Empty(t, p.ClientID)

	fetches := staff.JWKSFetches() + portal.JWKSFetches()
	raw := third.Mint(map[string]any{"scope": "system/*.*"})
	_, err = is.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrIssuer, raw)
	require.Zero(t, third.JWKSFetches()+len(third.IntrospectionRequests()), "an untrusted issuer is never contacted")
	require.Equal(t, fetches, staff.JWKSFetches()+portal.JWKSFetches(), "nor are the trusted ones")
}

// TestIssuersHostileIss: an iss that differs from a trusted one only in
// letter case or a trailing slash, is missing, or is duplicated, selects
// nothing and fetches nothing.
func TestIssuersHostileIss(t *testing.T) {
	staff, portal, _, is, clk := twoIssuers(t)
	ctx := context.Background()
	clk.Advance(time.Minute) // past the rate limit: a lookup would fetch
	fetches := staff.JWKSFetches() + portal.JWKSFetches()
	exp := clk.Now().Add(time.Hour).Unix()
	hdr := func() []byte {
		return mustJSON(t, map[string]any{"alg": "RS256", "kid": "unknown-kid", "typ": "at+jwt"})
	}
	for name, payload := range map[string]string{
		"upper-case host":       `{"iss":"` + strings.ToUpper(staff.URL) + `","aud":"` + staff.Audience() + `","exp":` + jsonNum(time.Unix(exp, 0)) + `}`,
		"trailing slash":        `{"iss":"` + staff.URL + `/","aud":"` + staff.Audience() + `","exp":` + jsonNum(time.Unix(exp, 0)) + `}`,
		"no iss":                `{"aud":"` + staff.Audience() + `","exp":` + jsonNum(time.Unix(exp, 0)) + `}`,
		"iss not a string":      `{"iss":["` + staff.URL + `"]}`,
		"duplicate iss":         `{"iss":"https://evil.example","iss":"` + staff.URL + `"}`,
		"iss with a NUL":        `{"iss":"` + staff.URL + `\u0000"}`,
		"payload not an object": `["` + staff.URL + `"]`,
	} {
		raw := staff.SignRaw(hdr(), []byte(payload), "RS256", nil)
		_, err := is.Authenticate(ctx, raw)
		require.Error(t, err, name)
		require.True(t, errorsIsAny(err, token.ErrIssuer, token.ErrMalformed), "%s: %v", name, err)
		requireNoLeak(t, err, raw)
	}
	require.Equal(t, fetches, staff.JWKSFetches()+portal.JWKSFetches(), "no key set was fetched for any of them")

	// An opaque token is still ErrNotJWT, so FirstOf can hand it on.
	_, err := is.Authenticate(ctx, "opaque-token-value")
	require.ErrorIs(t, err, token.ErrNotJWT)
}

func TestNewIssuersConfig(t *testing.T) {
	iss, clk := newIssuer(t)
	v := newVerifier(t, iss, clk)
	_, err := token.NewIssuers()
	require.ErrorIs(t, err, token.ErrConfig)
	_, err = token.NewIssuers(v, nil)
	require.ErrorIs(t, err, token.ErrConfig)
	_, err = token.NewIssuers(v, newVerifier(t, iss, clk))
	require.ErrorIs(t, err, token.ErrConfig)
	require.Contains(t, err.Error(), "given twice")
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// rs256Issuers trusts two issuers with the RS256 key of testdata (each
// Verifier's token cache of cacheSize entries) and returns them with the
// Verifier of the second and a token it accepts.
func rs256Issuers(tb testing.TB, cacheSize int) (*token.Issuers, *token.Verifier, string) {
	tb.Helper()
	rk := loadPrivateKey(tb, "rsa.pem").(*rsa.PrivateKey)
	k, err := jwk.Import(&rk.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	if err := k.Set(jwk.KeyIDKey, "rsa-1"); err != nil {
		tb.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		tb.Fatal(err)
	}
	var vs []*token.Verifier
	for _, iss := range []string{"https://other.example", fuzzIssuer} {
		v, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss, Audience: fuzzAudience, Keys: set},
			token.WithClock(func() time.Time { return fuzzNow }), token.WithLogger(discardLogger),
			token.WithTokenCache(cacheSize, token.DefaultCacheTTL))
		if err != nil {
			tb.Fatal(err)
		}
		vs = append(vs, v)
	}
	is, err := token.NewIssuers(vs...)
	if err != nil {
		tb.Fatal(err)
	}
	return is, vs[1], signCompact([]byte(`{"alg":"RS256","kid":"rsa-1","typ":"at+jwt"}`), fuzzClaims(), "RS256", rk)
}

// TestIssuersDecodeOnce: picking the Verifier by the token's iss costs no
// second split and decoding of the token, so an uncached verification
// through Issuers allocates what one by the chosen Verifier does.
func TestIssuersDecodeOnce(t *testing.T) {
	is, v, raw := rs256Issuers(t, 0)
	ctx := context.Background()
	authenticate := func(a token.Authenticator) func() {
		return func() {
			if _, err := a.Authenticate(ctx, raw); err != nil {
				t.Fatal(err)
			}
		}
	}
	direct := testing.AllocsPerRun(20, authenticate(v))
	through := testing.AllocsPerRun(20, authenticate(is))
	require.LessOrEqual(t, through, direct+2, "allocations through Issuers against the Verifier alone")
}

// BenchmarkIssuers: a token of the second of two trusted issuers, through
// Issuers, uncached and cached (compare with BenchmarkVerify's uncached-rs256
// and cached: selecting adds one cache lookup per issuer to a cached
// verification).
func BenchmarkIssuers(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		size int
	}{{"uncached", 0}, {"cached", token.DefaultCacheSize}} {
		is, _, rs := rs256Issuers(b, bc.size)
		b.Run(bc.name, func(b *testing.B) {
			if _, err := is.Authenticate(ctx, rs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := is.Authenticate(ctx, rs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
