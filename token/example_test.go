package token_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// Verify a JWT access token against an issuer found by discovery.
func Example() {
	iss := tokentest.NewIssuer() // an in-process identity provider
	defer iss.Close()
	ctx := context.Background()

	md, err := token.DiscoverOpenID(ctx, iss.URL)
	if err != nil {
		panic(err)
	}
	v, err := token.NewVerifier(ctx, token.Config{Issuer: md.Issuer, Audience: tokentest.DefaultAudience, JWKSURL: md.JWKSURI})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	raw := iss.Mint(map[string]any{"sub": "alice", "scope": "launch/patient patient/Observation.rs", "patient": "123"})
	p, err := v.Authenticate(ctx, raw)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Subject, p.Patient, p.Scopes.Permits(scope.Patient, "Observation", scope.Search))
	fmt.Println(p.Scopes.Permits(scope.Patient, "Observation", scope.Create))
	// Output:
	// alice 123 unconstrained
	// denied
}

// Branch on what was wrong with a token.
func ExampleVerifier_Authenticate_errors() {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ctx := context.Background()
	v, err := token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	for _, raw := range []string{
		iss.Mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}),
		iss.Mint(map[string]any{"aud": "https://some-other-api.example"}),
		iss.SignRaw([]byte(`{"alg":"none"}`), []byte(`{"sub":"mallory"}`), "none", nil),
		"not-a-jwt",
	} {
		_, err := v.Authenticate(ctx, raw)
		switch {
		case errors.Is(err, token.ErrIssuerUnavailable):
			fmt.Println("503:", err)
		case errors.Is(err, token.ErrExpired):
			fmt.Println("401: expired, the client should get a new token")
		case err != nil:
			fmt.Println("401:", err)
		}
	}
	// Output:
	// 401: expired, the client should get a new token
	// 401: token: wrong audience: aud claim does not contain the configured audience "https://fhir.example.test/fhir"
	// 401: token: algorithm not allowed: alg "none" is not allowed (allowed: RS256 RS384 PS256 PS384 PS512 ES256 ES384)
	// 401: token: malformed (not a JWT): token has no '.' separator
}

// Verify JWTs locally and introspect opaque tokens.
func ExampleFirstOf() {
	iss := tokentest.NewIssuer(tokentest.WithClient("fhir-server", "s3cret", "openid"))
	defer iss.Close()
	ctx := context.Background()

	v, err := token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	in, err := token.NewIntrospector(token.IntrospectorConfig{
		Endpoint: iss.IntrospectionURL(), ClientID: "fhir-server", ClientSecret: "s3cret",
		Issuer: iss.URL, Audience: iss.Audience(),
	})
	if err != nil {
		panic(err)
	}
	auth := token.FirstOf(v, in)

	for _, raw := range []string{
		iss.Mint(map[string]any{"sub": "jwt-user"}),
		iss.MintOpaque(map[string]any{"sub": "opaque-user"}),
		"revoked-or-unknown",
	} {
		p, err := auth.Authenticate(ctx, raw)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(p.Subject)
	}
	// Output:
	// jwt-user
	// opaque-user
	// token: inactive: introspection endpoint says the token is not active
}

// A DPoP proof is good once, for one request.
func ExampleDPoPChecker() {
	ctx := context.Background()
	key, err := client.GenerateDPoPKey()
	if err != nil {
		panic(err)
	}
	checker, err := token.NewDPoPChecker(token.DPoPConfig{})
	if err != nil {
		panic(err)
	}
	const tokenURL = "https://as.example/oauth2/token"
	proof, err := key.Proof("POST", tokenURL, "", "")
	if err != nil {
		panic(err)
	}
	jkt, err := checker.VerifyProof(ctx, proof, "POST", tokenURL)
	fmt.Println(err == nil, jkt == key.Thumbprint())
	_, err = checker.VerifyProof(ctx, proof, "POST", tokenURL)
	fmt.Println(errors.Is(err, token.ErrDPoPProof))
	// Output:
	// true true
	// true
}

// Read claims the Principal has no field for: they are decoded on demand
// from the verified token.
func ExamplePrincipal_Claims() {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ctx := context.Background()
	v, err := token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	raw := iss.Mint(map[string]any{"sub": "alice", "tenant": "north", "roles": []string{"nurse", "triage"}})
	p, err := v.Authenticate(ctx, raw)
	if err != nil {
		panic(err)
	}
	tenant, _ := p.Claim("tenant")
	fmt.Println(tenant)
	claims, err := p.Claims()
	if err != nil {
		panic(err)
	}
	fmt.Println(claims["roles"])
	// Output:
	// north
	// [nurse triage]
}
