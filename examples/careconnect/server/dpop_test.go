package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// TestDPoPDemoClient: the dpop-app client gets tokens only with a proof,
// and its tokens work only with a fresh proof by its key for the request.
func TestDPoPDemoClient(t *testing.T) {
	r := start(t)
	s := r.srv
	secret := server.DPoPClient + "-secret"
	tr := tokenFor(t, s, server.DPoPClient, secret, "")
	require.Equal(t, http.StatusBadRequest, tr.status)
	assert.Equal(t, "invalid_dpop_proof", tr.doc["error"])

	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	ts, err := client.ClientCredentials(s.TokenURL(), server.DPoPClient, secret, client.WithDPoP(key))
	require.NoError(t, err)
	c, err := client.New(s.BaseURL(), ts)
	require.NoError(t, err)
	ctx := context.Background()
	res, err := c.Read(ctx, "Patient", "1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	tok, err := ts.TokenContext(ctx)
	require.NoError(t, err)
	assert.Equal(t, "DPoP", tok.Type())

	u := s.BaseURL() + "/Patient/1"
	proof := func(k *client.DPoPKey, method, url string) string {
		p, err := k.Proof(method, url, tok.AccessToken, "")
		require.NoError(t, err)
		return p
	}
	send := func(scheme, p string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", scheme+" "+tok.AccessToken)
		if p != "" {
			req.Header.Set("DPoP", p)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	good := proof(key, "GET", u)
	other, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	stale := key.WithClock(func() time.Time { return time.Now().Add(-10 * time.Minute) })
	require.Equal(t, http.StatusOK, send("DPoP", good))
	for name, status := range map[string]int{
		"as a bearer token":     send("Bearer", ""),
		"without a proof":       send("DPoP", ""),
		"replayed proof":        send("DPoP", good),
		"proof for another URL": send("DPoP", proof(key, "GET", s.BaseURL()+"/Patient/2")),
		"proof for POST":        send("DPoP", proof(key, "POST", u)),
		"proof by another key":  send("DPoP", proof(other, "GET", u)),
		"stale proof":           send("DPoP", proof(stale, "GET", u)),
	} {
		assert.Equal(t, http.StatusUnauthorized, status, name)
	}

	page := call(t, http.MethodGet, s.URL()+"/", "", nil)
	assert.Contains(t, string(page.body), "DPoP-bound")
}
