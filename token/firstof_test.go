package token_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

func TestFirstOf(t *testing.T) {
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	v := newVerifier(t, iss, clk)
	in := newIntrospector(t, iss, clk, nil)
	auth := token.FirstOf(v, in)
	ctx := context.Background()
	introspections := func() int { return len(iss.IntrospectionRequests()) }

	// A valid JWT is verified locally.
	p, err := auth.Authenticate(ctx, iss.Mint(map[string]any{"sub": "jwt"}))
	require.NoError(t, err)
	require.Equal(t, "jwt", p.Subject)
	require.Zero(t, introspections())

	// An opaque token goes to introspection.
	p, err = auth.Authenticate(ctx, iss.MintOpaque(map[string]any{"sub": "opaque"}))
	require.NoError(t, err)
	require.Equal(t, "opaque", p.Subject)
	require.Equal(t, 1, introspections())

	// A JWT that fails verification is never handed on, even though the
	// authorization server would call some of these active.
	valid := iss.Mint(nil)
	h, _, s := parts(t, valid)
	_, other, _ := parts(t, iss.Mint(map[string]any{"scope": "user/*.*"}))
	for name, tc := range map[string]struct {
		raw  string
		want error
	}{
		"expired":        {iss.Mint(map[string]any{"exp": clk.Now().Add(-time.Hour).Unix()}), token.ErrExpired},
		"bad signature":  {h + "." + other + "." + s, token.ErrSignature},
		"wrong audience": {iss.Mint(map[string]any{"aud": "https://elsewhere.example"}), token.ErrAudience},
		"unknown kid":    {iss.MintWith("RS256", map[string]any{"kid": "nope"}, nil), token.ErrUnknownKey},
		"alg none":       {iss.SignRaw([]byte(`{"alg":"none"}`), []byte(`{}`), "none", nil), token.ErrAlgorithm},
		"missing exp":    {iss.Mint(map[string]any{"exp": nil}), token.ErrMalformed},
		"unknown crit":   {iss.MintWith("RS256", map[string]any{"crit": []string{"x"}, "x": 1}, nil), token.ErrMalformed},
		"dotted opaque":  {"abcd.efgh.ijkl", token.ErrNotJWT}, // header not JSON: not a JWT -> introspection says inactive
	} {
		t.Run(name, func(t *testing.T) {
			before := introspections()
			_, err := auth.Authenticate(ctx, tc.raw)
			if tc.want == token.ErrNotJWT {
				requireRejected(t, err, token.ErrInactive, tc.raw)
				require.Equal(t, before+1, introspections())
				return
			}
			requireRejected(t, err, tc.want, tc.raw)
			require.Equal(t, before, introspections(), "a rejected JWT must not reach introspection")
		})
	}

	// JWKS unreachable from the start: ErrIssuerUnavailable, no fallback.
	iss2, clk2 := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	iss2.FailJWKS(500)
	auth2 := token.FirstOf(newVerifier(t, iss2, clk2), newIntrospector(t, iss2, clk2, nil))
	raw := iss2.Mint(nil)
	_, err = auth2.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrIssuerUnavailable, raw)
	require.Empty(t, iss2.IntrospectionRequests())

	require.Panics(t, func() { token.FirstOf() })
	require.Panics(t, func() { token.FirstOf(v, nil) })
}

// TestFirstOfMalformedJWSIsNotHandedOn: a token whose header decodes to a
// JSON object is a JWS, and one its header fails to parse is refused as
// ErrMalformed by the Verifier, never introspected: otherwise every forged
// header (a duplicate alg, a number out of range) would reach the
// authorization server and let it decide what the Verifier refused. Only
// a token that is not a JWS at all (opaque) goes on.
func TestFirstOfMalformedJWSIsNotHandedOn(t *testing.T) {
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	auth := token.FirstOf(newVerifier(t, iss, clk), newIntrospector(t, iss, clk, nil))
	ctx := context.Background()
	_, kid := iss.SigningKey("RS256")
	_, p, s := parts(t, iss.Mint(nil))
	signed := func(hdr string) string { return iss.SignRaw([]byte(hdr), []byte(`{"sub":"x"}`), "RS256", nil) }
	for name, raw := range map[string]string{
		"duplicate alg":          signed(`{"alg":"RS256","kid":"` + kid + `","alg":"none"}`),
		"alg differing in case":  signed(`{"alg":"RS256","kid":"` + kid + `","ALG":"none"}`),
		"number out of range":    signed(`{"alg":"RS256","kid":"` + kid + `","x":1e1000}`),
		"invalid UTF-8":          signed("{\"alg\":\"RS256\",\"kid\":\"" + kid + "\",\"x\":\"\xff\"}"),
		"lone surrogate":         signed(`{"alg":"RS256","kid":"` + kid + `","x":"\ud800"}`),
		"deep nesting":           signed(`{"alg":"RS256","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`),
		"no alg":                 signed(`{"kid":"` + kid + `"}`),
		"alg not a string":       signed(`{"alg":7,"kid":"` + kid + `"}`),
		"trailing bytes":         signed(`{"alg":"RS256","kid":"` + kid + `"}x`),
		"unterminated object":    segment(t, `{"alg":"RS256"`) + "." + p + "." + s,
		"leading white space":    segment(t, ` {"alg":"RS256","alg":"none"}`) + "." + p + "." + s,
		"duplicate alg unsigned": segment(t, `{"alg":"RS256","alg":"none"}`) + ".e30.",
	} {
		t.Run(name, func(t *testing.T) {
			before := len(iss.IntrospectionRequests())
			_, err := auth.Authenticate(ctx, raw)
			requireRejected(t, err, token.ErrMalformed, raw)
			require.NotErrorIs(t, err, token.ErrNotJWT, "a JWS with a bad header is not an opaque token")
			require.Equal(t, before, len(iss.IntrospectionRequests()), "a malformed JWS must not reach introspection")
		})
	}
	for name, raw := range map[string]string{
		"opaque":            iss.MintOpaque(map[string]any{"sub": "opaque"}),
		"dotted opaque":     "abcd.efgh.ijkl",
		"header not JSON":   segment(t, "hello") + "." + p + "." + s,
		"header JSON array": segment(t, `[{"alg":"RS256"}]`) + "." + p + "." + s,
		"header not base64": "a~b.c.d",
		"JWE (five parts)":  "a.b.c.d.e",
	} {
		t.Run(name, func(t *testing.T) {
			before := len(iss.IntrospectionRequests())
			_, err := auth.Authenticate(ctx, raw)
			if name == "opaque" {
				require.NoError(t, err)
			} else {
				requireRejected(t, err, token.ErrInactive, raw)
			}
			require.Equal(t, before+1, len(iss.IntrospectionRequests()), "a token that is not a JWS goes on to introspection")
		})
	}
}
