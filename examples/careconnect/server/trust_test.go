package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/server"
)

// TestRevokedTokenStopsWorking: the embedded issuer's revocation endpoint
// takes effect on the very next request, although the token is a JWT that
// was verified (and cached) before.
func TestRevokedTokenStopsWorking(t *testing.T) {
	s := start(t).srv
	tok := accessToken(t, s, server.PatientAccessClient)
	for range 2 { // the second answer comes from the verified-token cache
		res := call(t, http.MethodGet, s.BaseURL()+"/Patient/1", tok, nil)
		require.Equal(t, http.StatusOK, res.status, string(res.body))
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth(server.PatientAccessClient, server.PatientAccessClient+"-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	res := call(t, http.MethodGet, s.BaseURL()+"/Patient/1", tok, nil)
	assert.Equal(t, http.StatusUnauthorized, res.status, string(res.body))
	// Other tokens of the same client still work.
	res = call(t, http.MethodGet, s.BaseURL()+"/Patient/1", accessToken(t, s, server.PatientAccessClient), nil)
	assert.Equal(t, http.StatusOK, res.status)
}

// TestSeveralExternalIssuers: repeated -issuer and -audience, a -profile
// per issuer; a token of an issuer not listed is 401.
func TestSeveralExternalIssuers(t *testing.T) {
	a, b, third := start(t).srv, start(t).srv, start(t).srv
	s := start(t, "-issuer", a.URL(), "-issuer", b.URL(),
		"-audience", a.BaseURL(), "-audience", b.BaseURL(), "-audience", third.BaseURL(),
		"-profile", b.URL()+"=keycloak").srv
	for _, idp := range []*server.Server{a, b} {
		res := call(t, http.MethodGet, s.BaseURL()+"/Patient/1", accessToken(t, idp, server.PatientAccessClient), nil)
		require.Equal(t, http.StatusOK, res.status, string(res.body))
	}
	res := call(t, http.MethodGet, s.BaseURL()+"/Patient/1", accessToken(t, third, server.PatientAccessClient), nil)
	assert.Equal(t, http.StatusUnauthorized, res.status, "the audience fits, the issuer is not trusted")
}

func TestTrustFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-issuer", "https://a.example", "-profile", "https://b.example=okta"},
		{"-issuer", "https://a.example", "-profile", "https://a.example=nope"},
		{"-profile", "https://a.example=okta"},
		{"-issuer", "https://a.example", "-issuer", "https://a.example"},
		{"-audience", ""},
	} {
		_, err := server.ParseArgs(args, io.Discard)
		assert.ErrorIs(t, err, server.ErrUsage, args)
	}
	cfg, err := server.ParseArgs([]string{"-issuer", "https://a.example", "-issuer", "https://b.example/",
		"-audience", "https://x/fhir", "-audience", "https://y/fhir", "-profile", "https://b.example/=entra"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"https://a.example", "https://b.example/"}, cfg.Issuers)
	assert.Equal(t, []string{"https://x/fhir", "https://y/fhir"}, cfg.Audiences)
	assert.Equal(t, map[string]string{"https://b.example/": "entra"}, cfg.Profiles)
}
