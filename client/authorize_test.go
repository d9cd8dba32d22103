package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// Authorize sets the token in its scheme on requests to the FHIR server's
// origin, and refuses other origins without adding anything.
func TestAuthorize(t *testing.T) {
	c, err := client.New("https://fhir.example/fhir", client.StaticToken("at"))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, "https://FHIR.example/bulk/1", nil)
	require.NoError(t, err)
	require.NoError(t, c.Authorize(context.Background(), req))
	require.Equal(t, "Bearer at", req.Header.Get("Authorization"))
	require.Empty(t, req.Header.Get("DPoP"))

	for _, u := range []string{"http://fhir.example/bulk/1", "https://fhir.example:8443/bulk/1", "https://evil.example/fhir/x"} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		require.ErrorIs(t, c.Authorize(context.Background(), req), client.ErrForeignLink, u)
		require.Empty(t, req.Header.Get("Authorization"))
	}

	// Hosts that fold together only under Unicode case folding are other
	// hosts: net/http dials fhirς.example as xn--fhir-jod.example and
	// fhirσ.example as xn--fhir-ood.example. The default port is the same
	// origin.
	c, err = client.New("https://fhirς.example/fhir", client.StaticToken("at"))
	require.NoError(t, err)
	for u, same := range map[string]bool{
		"https://fhirσ.example/bulk/1":     false,
		"https://fhirΣ.example/bulk/1":     false,
		"https://FHIRς.example:443/bulk/1": true,
	} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		err = c.Authorize(context.Background(), req)
		if same {
			require.NoError(t, err, u)
			continue
		}
		require.ErrorIs(t, err, client.ErrForeignLink, u)
		require.Empty(t, req.Header.Get("Authorization"), u)
	}
}

// DPoPNonceRequested recognizes a FHIR server's use_dpop_nonce challenge to
// an Authorize'd request and keeps the nonce, so that the request
// authorized anew is accepted; a client without a DPoP key never retries.
func TestDPoPNonceRequested(t *testing.T) {
	st := newDPoPStack(t, true, false)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	c, _ := st.client(t, key)
	get := func() *http.Response {
		req, err := http.NewRequest(http.MethodGet, st.fhirURL+"/Patient?_count=1", nil)
		require.NoError(t, err)
		require.NoError(t, c.Authorize(context.Background(), req))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp
	}
	resp := get()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.True(t, c.DPoPNonceRequested(resp))
	resp = get()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.False(t, c.DPoPNonceRequested(resp))

	bearer, err := client.New(st.fhirURL, client.StaticToken("at"))
	require.NoError(t, err)
	challenge := &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{
		"Www-Authenticate": {`DPoP error="use_dpop_nonce"`}, "Dpop-Nonce": {"n"}}}
	require.False(t, bearer.DPoPNonceRequested(challenge))
	require.False(t, c.DPoPNonceRequested(nil))
}
