package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
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

// TestGatewayAllowedClients: an issuer's allowed_clients in the
// configuration file admit only tokens of those clients, matched
// exactly; an empty entry is a configuration error.
func TestGatewayAllowedClients(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	p := writeConfig(t, "upstream: http://h/fhir\naudiences: ["+iss.Audience()+"]\nissuers:\n  - issuer: "+iss.URL+"\n    allowed_clients: [app-1, app-2]\n")
	c, err := parseFlags([]string{"-config", p}, io.Discard)
	require.NoError(t, err)
	g := newGateway(c, slog.New(slog.DiscardHandler))
	vs, _, err := g.buildVerifiers(context.Background())
	require.NoError(t, err)
	defer closeAll(vs)
	for id, ok := range map[string]bool{"app-1": true, "app-2": true, "App-1": false, "app-3": false, "app-1 ": false, "": false} {
		_, err := vs[0].Authenticate(context.Background(), iss.Mint(map[string]any{"client_id": id, "scope": "user/Patient.rs"}))
		if ok {
			assert.NoError(t, err, id)
		} else {
			assert.ErrorIs(t, err, token.ErrClient, "%q", id)
		}
	}

	bad := writeConfig(t, "upstream: http://h/fhir\naudiences: [x]\nissuers:\n  - issuer: https://idp.example\n    allowed_clients: [app-1, \"\"]\n")
	_, err = parseFlags([]string{"-config", bad}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "allowed_clients")

	// An allowed_clients that lists no client (its entries commented
	// out, or []) would admit every client: it is an error, not "any".
	for name, list := range map[string]string{
		"entries commented out": "    allowed_clients:\n    #  - app-1\n",
		"empty list":            "    allowed_clients: []\n",
		"null":                  "    allowed_clients: null\n",
	} {
		empty := writeConfig(t, "upstream: http://h/fhir\naudiences: [x]\nissuers:\n  - issuer: https://idp.example\n"+list)
		_, err = parseFlags([]string{"-config", empty}, io.Discard)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "allowed_clients", name)
		assert.Contains(t, err.Error(), ":5", name)
	}

	// -issuer flags replace the file's issuers: not when that would drop
	// an allowed_clients and so accept any client.
	_, err = parseFlags([]string{"-config", p, "-issuer", iss.URL, "-audience", iss.Audience()}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "allowed_clients")
}
