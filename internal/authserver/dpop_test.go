package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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

// downReplay is a replay store that cannot be reached.
type downReplay struct{}

func (downReplay) Seen(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

// TestTokenEndpointDPoPNonce: with server nonces (RFC 9449 section 8),
// a proof without the current nonce is answered 400 use_dpop_nonce with
// the nonce in a DPoP-Nonce header, and a proof with it is admitted; the
// client library, which retries on that answer, gets its token.
func TestTokenEndpointDPoPNonce(t *testing.T) {
	nonces, err := token.NewNonceSource([]byte(strings.Repeat("n", 32)), time.Minute)
	require.NoError(t, err)
	checker, err := token.NewDPoPChecker(token.DPoPConfig{Nonces: nonces})
	require.NoError(t, err)
	s, err := authserver.New(authserver.Config{Issuer: dpopIssuer, Audience: "https://fhir.example.test/fhir", DPoP: checker,
		Clients: []authserver.Client{{ID: "app", Secret: "app-secret", Scope: "system/*.rs"}}})
	require.NoError(t, err)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	tokenURL := dpopIssuer + authserver.TokenPath

	for name, nonce := range map[string]string{
		"no nonce":    "",
		"stale nonce": nonces.Nonce(time.Now().Add(-time.Hour)),
		"made up":     "not-a-nonce",
	} {
		p, err := key.Proof("POST", tokenURL, "", nonce)
		require.NoError(t, err)
		w := tokenResponse(s, "app", "app-secret", p)
		require.Equal(t, http.StatusBadRequest, w.Code, name)
		require.JSONEq(t, `"use_dpop_nonce"`, jsonField(t, w, "error"), name)
		fresh := w.Header().Get("DPoP-Nonce")
		require.True(t, nonces.Valid(fresh, time.Now()), "%s: the answer carries a current nonce, not %q", name, fresh)

		p, err = key.Proof("POST", tokenURL, "", fresh)
		require.NoError(t, err)
		w = tokenResponse(s, "app", "app-secret", p)
		require.Equal(t, http.StatusOK, w.Code, "%s: the retry with the nonce: %s", name, w.Body)
	}

	var peer *authserver.Server // at the test server's URL, known once it listens
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { peer.Handler().ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	peer, err = authserver.New(authserver.Config{Issuer: hs.URL, Audience: "https://fhir.example.test/fhir", DPoP: checker,
		Clients: []authserver.Client{{ID: "app", Secret: "app-secret", Scope: "system/*.rs"}}})
	require.NoError(t, err)
	ts, err := client.ClientCredentials(hs.URL+authserver.TokenPath, "app", "app-secret", client.WithDPoP(key))
	require.NoError(t, err)
	tok, err := ts.TokenContext(context.Background())
	require.NoError(t, err, "the client retries with the nonce it was given")
	require.Equal(t, "DPoP", tok.Type())
}

// TestTokenEndpointDPoPReplayOutage: a replay store that cannot record
// the proof is the server's trouble: 503 temporarily_unavailable, not
// invalid_dpop_proof, which would tell the client its proof is wrong.
func TestTokenEndpointDPoPReplayOutage(t *testing.T) {
	checker, err := token.NewDPoPChecker(token.DPoPConfig{Replay: downReplay{}})
	require.NoError(t, err)
	s, err := authserver.New(authserver.Config{Issuer: dpopIssuer, Audience: "https://fhir.example.test/fhir", DPoP: checker,
		Clients: []authserver.Client{{ID: "app", Secret: "app-secret", Scope: "system/*.rs"}}})
	require.NoError(t, err)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	p, err := key.Proof("POST", dpopIssuer+authserver.TokenPath, "", "")
	require.NoError(t, err)
	w := tokenResponse(s, "app", "app-secret", p)
	require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	require.JSONEq(t, `"temporarily_unavailable"`, jsonField(t, w, "error"))
	require.Empty(t, w.Header().Get("DPoP-Nonce"))
	require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
}

// tokenResponse posts a client credentials request with one proof.
func tokenResponse(s *authserver.Server, id, secret, proof string) *httptest.ResponseRecorder {
	form := url.Values{"grant_type": {"client_credentials"}}
	r := httptest.NewRequest(http.MethodPost, dpopIssuer+authserver.TokenPath, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(id, secret)
	r.Header.Set("DPoP", proof)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// jsonField is member name of w's JSON body, as JSON.
func jsonField(t *testing.T, w *httptest.ResponseRecorder, name string) string {
	t.Helper()
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return string(body[name])
}
