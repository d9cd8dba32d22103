package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/token"
)

const dpopIssuer = "https://auth.example.test"

func newDPoPAuthServer(t *testing.T) *authserver.Server {
	t.Helper()
	checker, err := token.NewDPoPChecker(token.DPoPConfig{})
	require.NoError(t, err)
	s, err := authserver.New(authserver.Config{
		Issuer: dpopIssuer, Audience: "https://fhir.example.test/fhir", DPoP: checker,
		Clients: []authserver.Client{
			{ID: "app", Secret: "app-secret", Scope: "system/*.rs"},
			{ID: "bound", Secret: "bound-secret", Scope: "system/*.rs", DPoPBound: true},
		},
	})
	require.NoError(t, err)
	return s
}

// tokenRequest posts a client credentials request with the given proofs.
func tokenRequest(s *authserver.Server, id, secret string, proofs ...string) (int, map[string]any) {
	form := url.Values{"grant_type": {"client_credentials"}}
	r := httptest.NewRequest(http.MethodPost, dpopIssuer+authserver.TokenPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(id, secret)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body
}

func TestTokenEndpointIssuesDPoPBoundTokens(t *testing.T) {
	s := newDPoPAuthServer(t)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	proof := func(method, u string) string {
		p, err := key.Proof(method, u, "", "")
		require.NoError(t, err)
		return p
	}
	tokenURL := dpopIssuer + authserver.TokenPath

	status, body := tokenRequest(s, "app", "app-secret", proof("POST", tokenURL))
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "DPoP", body["token_type"])
	claims, active := s.Introspect(body["access_token"].(string))
	require.True(t, active)
	require.Equal(t, map[string]any{"jkt": key.Thumbprint()}, claims["cnf"])

	status, body = tokenRequest(s, "app", "app-secret")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "Bearer", body["token_type"], "no proof: a bearer token")

	replayed := proof("POST", tokenURL)
	status, _ = tokenRequest(s, "app", "app-secret", replayed)
	require.Equal(t, http.StatusOK, status)
	for name, proofs := range map[string][]string{
		"replayed proof":        {replayed},
		"proof for another URL": {proof("POST", dpopIssuer+"/other")},
		"proof for GET":         {proof("GET", tokenURL)},
		"two proofs":            {proof("POST", tokenURL), proof("POST", tokenURL)},
		"not a proof":           {"garbage"},
	} {
		status, body := tokenRequest(s, "app", "app-secret", proofs...)
		require.Equal(t, http.StatusBadRequest, status, name)
		require.Equal(t, "invalid_dpop_proof", body["error"], name)
	}

	status, body = tokenRequest(s, "bound", "bound-secret")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_dpop_proof", body["error"], "a dpop_bound_access_tokens client must send a proof")
	status, body = tokenRequest(s, "bound", "bound-secret", proof("POST", tokenURL))
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "DPoP", body["token_type"])
}

func TestIntrospectionSaysDPoP(t *testing.T) {
	s := newDPoPAuthServer(t)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	p, err := key.Proof("POST", dpopIssuer+authserver.TokenPath, "", "")
	require.NoError(t, err)
	_, body := tokenRequest(s, "app", "app-secret", p)
	form := url.Values{"token": {body["access_token"].(string)}}
	r := httptest.NewRequest(http.MethodPost, dpopIssuer+authserver.IntrospectionPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("app", "app-secret")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	require.Equal(t, "DPoP", got["token_type"])
	require.Equal(t, true, got["active"])
}

func TestDiscoveryListsDPoPAlgorithms(t *testing.T) {
	s := newDPoPAuthServer(t)
	require.Contains(t, s.OpenIDConfiguration()["dpop_signing_alg_values_supported"], "ES256")
	plain, err := authserver.New(authserver.Config{Issuer: dpopIssuer, Audience: "https://fhir.example.test/fhir"})
	require.NoError(t, err)
	require.NotContains(t, plain.OpenIDConfiguration(), "dpop_signing_alg_values_supported")
}

func TestClientsFileDPoPBound(t *testing.T) {
	clients, err := authserver.LoadClients(strings.NewReader(`[{"client_id":"d","client_secret":"s","scope":"system/*.rs","dpop_bound_access_tokens":true}]`))
	require.NoError(t, err)
	require.True(t, clients[0].DPoPBound)
}
