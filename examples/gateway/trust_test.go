package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// TestGatewayTrustsTwoIssuers: a second -issuer with the Okta profile and
// a second -audience; a third issuer's token is refused and the third
// issuer never hears of it.
func TestGatewayTrustsTwoIssuers(t *testing.T) {
	okta := tokentest.NewIssuer(tokentest.WithAudience("https://gateway.other/fhir"))
	third := tokentest.NewIssuer()
	defer okta.Close()
	defer third.Close()
	g := startGateway(t, "-issuer", okta.URL, "-audience", "https://gateway.other/fhir", "-profile", okta.URL+"=okta")

	res, body := g.do(t, http.MethodGet, "Patient/p1", g.token("user/Patient.rs", ""), "", "")
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	oktaTok := okta.Mint(map[string]any{"sub": "u2", "cid": "portal", "scp": []string{"user/Patient.rs"}, "client_id": nil})
	res, body = g.do(t, http.MethodGet, "Patient/p1", oktaTok, "", "")
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	// Okta puts scopes in scp as an array: the same scopes as a string
	// do not fit the profile.
	res, _ = g.do(t, http.MethodGet, "Patient/p1", okta.Mint(map[string]any{"cid": "portal", "scp": "user/Patient.rs"}), "", "")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)

	res, _ = g.do(t, http.MethodGet, "Patient/p1", third.Mint(map[string]any{"scope": "user/Patient.rs"}), "", "")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Zero(t, third.JWKSFetches())
}

func TestGatewayTrustFlagsRefused(t *testing.T) {
	for name, args := range map[string][]string{
		"profile of an unlisted issuer": {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "-profile", "https://other.example=okta"},
		"unknown profile":               {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-audience", "x", "-profile", "https://idp.example=azure"},
		"issuer twice":                  {"-upstream", "http://h/fhir", "-issuer", "https://idp.example", "-issuer", "https://idp.example", "-audience", "x"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), args, io.Discard, &stderr)
		var usage usageError
		assert.ErrorAs(t, err, &usage, name)
	}
}
