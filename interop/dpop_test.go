package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// TestOIDCProviderDPoP: oidc-provider (its dPoP feature) issues DPoP-bound
// tokens to fhirwarden's client; careconnect, trusting it with -issuer,
// accepts requests with valid proofs and refuses the same token without a
// proof, with a proof for another URL or method, a replayed proof, a proof
// by another key, and a stale proof.
func TestOIDCProviderDPoP(t *testing.T) {
	requirePeer(t)
	dir := t.TempDir()
	careconnect := buildProgram(t, dir, "./examples/careconnect")
	fhirctl := buildProgram(t, dir, "./examples/fhirctl")

	fhirPort := freePort(t)
	audience := fmt.Sprintf("http://127.0.0.1:%d/fhir", fhirPort)
	signingKey := filepath.Join(dir, "signing.jwk.json")
	writeRSAKey(t, signingKey, "RS256")
	clientJWKS := filepath.Join(dir, "client.jwks.json")
	writePublicJWKS(t, clientJWKS, writeRSAKey(t, filepath.Join(dir, "client.jwk.json"), "RS384"))
	p := startPeer(t, 0, audience, signingKey, clientJWKS)
	srv := startCareConnect(t, careconnect, fhirPort, p.issuer, audience)

	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	ts, err := client.ClientCredentials(p.issuer+"/token", "interop-dpop", "interop-secret",
		client.WithDPoP(key), client.WithScopes("system/Patient.read"))
	require.NoError(t, err)
	ctx := context.Background()
	tok, err := ts.TokenContext(ctx)
	require.NoError(t, err)
	require.Equal(t, "DPoP", tok.Type(), "oidc-provider issued a DPoP-bound token")
	requireBoundTo(t, tok.AccessToken, key.Thumbprint())

	t.Run("the client's requests carry valid proofs", func(t *testing.T) {
		c, err := client.New(srv.base, ts)
		require.NoError(t, err)
		pages := 0
		for page, err := range c.Search(ctx, "Patient", url.Values{"_count": {"1"}}, client.MaxPages(3)) {
			require.NoError(t, err)
			require.NotNil(t, page)
			pages++
		}
		require.Equal(t, 3, pages, "a fresh proof for each page")
	})

	u := srv.base + "/Patient"
	proof := func(k *client.DPoPKey, method, target string) string {
		p, err := k.Proof(method, target, tok.AccessToken, "")
		require.NoError(t, err)
		return p
	}
	send := func(scheme, proof string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", scheme+" "+tok.AccessToken)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	good := proof(key, "GET", u)
	status, _ := send("DPoP", good)
	require.Equal(t, http.StatusOK, status)

	other, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	stale := key.WithClock(func() time.Time { return time.Now().Add(-5 * time.Minute) })
	for _, tc := range []struct {
		name, scheme, proof, wantError string
	}{
		{"the token as a bearer token", "Bearer", "", "invalid_token"},
		{"no proof", "DPoP", "", "invalid_dpop_proof"},
		{"a proof for another URL", "DPoP", proof(key, "GET", srv.base+"/Observation"), "invalid_dpop_proof"},
		{"a proof for another method", "DPoP", proof(key, "DELETE", u), "invalid_dpop_proof"},
		{"a replayed proof", "DPoP", good, "invalid_dpop_proof"},
		{"a proof by another key", "DPoP", proof(other, "GET", u), "invalid_dpop_proof"},
		{"a stale proof", "DPoP", proof(stale, "GET", u), "invalid_dpop_proof"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			status, challenge := send(tc.scheme, tc.proof)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Contains(t, challenge, `error="`+tc.wantError+`"`)
		})
	}

	t.Run("fhirctl -dpop", func(t *testing.T) {
		args := []string{"-base", srv.base, "-token-url", p.issuer + "/token",
			"-client-id", "interop-dpop", "-client-secret", "interop-secret", "-scope", "system/Patient.read"}
		code, stdout, stderr := runFhirctl(t, fhirctl, append(args, "-dpop", "token")...)
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Contains(t, stdout, `"token_type": "DPoP"`)
		code, stdout, stderr = runFhirctl(t, fhirctl, append(args, "-dpop", "search", "Patient", "_count=2")...)
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Contains(t, stdout, `"resourceType": "Bundle"`)
		code, _, stderr = runFhirctl(t, fhirctl, append(args, "token")...)
		require.Equal(t, 3, code, "a dpop_bound_access_tokens client without -dpop is refused (exit 3: authentication or authorization)")
		require.Contains(t, stderr, "token request refused")
	})
}

// requireBoundTo checks the JWT access token's cnf.jkt.
func requireBoundTo(t *testing.T, jwt, jkt string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	js, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	require.NoError(t, json.Unmarshal(js, &claims))
	require.Equal(t, jkt, claims.Cnf.JKT)
}
