package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// dpopClaims decodes the payload of a DPoP proof.
func dpopClaims(t *testing.T, proof string) map[string]any {
	t.Helper()
	parts := strings.Split(proof, ".")
	require.Len(t, parts, 3)
	js, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(js, &c))
	return c
}

// A redirect within the base gets a proof of its own: a new jti, and the
// redirected URL as htu.
func TestDPoPProofSignedPerRedirect(t *testing.T) {
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"DPoP","expires_in":3600}`))
	}))
	defer tokSrv.Close()
	var mu sync.Mutex
	var auth, proofs []string
	fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		proofs = append(proofs, r.Header.Get("DPoP"))
		mu.Unlock()
		if r.URL.Path == "/fhir/Patient/old" {
			http.Redirect(w, r, "/fhir/Patient/new", http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"new"}`))
	}))
	defer fhir.Close()

	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	ts, err := client.ClientCredentials(tokSrv.URL, "app", "s", client.WithDPoP(key))
	require.NoError(t, err)
	c, err := client.New(fhir.URL+"/fhir", ts)
	require.NoError(t, err)
	_, err = c.Read(context.Background(), "Patient", "old")
	require.NoError(t, err)

	require.Len(t, proofs, 2)
	require.Equal(t, []string{"DPoP at", "DPoP at"}, auth)
	first, second := dpopClaims(t, proofs[0]), dpopClaims(t, proofs[1])
	require.Equal(t, fhir.URL+"/fhir/Patient/old", first["htu"])
	require.Equal(t, fhir.URL+"/fhir/Patient/new", second["htu"])
	require.Equal(t, "GET", second["htm"])
	require.NotEqual(t, first["jti"], second["jti"])
	require.Equal(t, first["ath"], second["ath"])
}
