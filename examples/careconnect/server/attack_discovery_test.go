package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCareConnectCapabilityStatementSaysWhatTheServerDoes: the
// CapabilityStatement's security describes the server a client meets,
// not another one, and names the endpoints of its SMART configuration.
func TestCareConnectCapabilityStatementSaysWhatTheServerDoes(t *testing.T) {
	a := startAttack(t, attackClients)
	md := a.do(t, http.MethodGet, "/metadata", "", "", "")
	require.Equal(t, http.StatusOK, md.status, "%s", md.body)
	rest := md.doc["rest"].([]any)[0].(map[string]any)
	sec := rest["security"].(map[string]any)

	// A browser on another origin gets no CORS answer: not to a
	// preflight, not to a request with a token.
	tok := a.token(t, "pw", "")
	pre := a.do(t, http.MethodOptions, "/Patient/1", "", "", "",
		"Origin", "https://app.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	get := a.do(t, http.MethodGet, "/Patient/1", tok, "", "", "Origin", "https://app.example")
	require.Equal(t, http.StatusOK, get.status)
	for _, r := range []reply{pre, get} {
		assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, r.header.Get("Access-Control-Allow-Credentials"))
	}
	assert.Equal(t, false, sec["cors"], "security.cors must not promise CORS the server does not do")

	// The oauth-uris extension names the endpoints of the SMART configuration.
	smart := a.do(t, http.MethodGet, "/.well-known/smart-configuration", "", "", "")
	require.Equal(t, http.StatusOK, smart.status)
	uris := map[string]any{}
	for _, e := range sec["extension"].([]any) {
		ext := e.(map[string]any)
		if ext["url"] != "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" {
			continue
		}
		for _, s := range ext["extension"].([]any) {
			sub := s.(map[string]any)
			uris[sub["url"].(string)] = sub["valueUri"]
		}
	}
	assert.Equal(t, map[string]any{
		"token":      smart.doc["token_endpoint"],
		"introspect": smart.doc["introspection_endpoint"],
		"revoke":     smart.doc["revocation_endpoint"],
	}, uris)
	assert.Equal(t, a.s.TokenURL(), smart.doc["token_endpoint"])
}
