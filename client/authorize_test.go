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
}
