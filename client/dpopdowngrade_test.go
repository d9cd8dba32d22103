package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDPoPTokenSourceRefusesBearerToken: a token source built WithDPoP
// promises DPoP-bound tokens. A token endpoint that answers token_type
// Bearer (it ignored the proof, or an attacker's endpoint wants a token it
// can replay) must not make the client send that token as a bearer token,
// with no proof, to the FHIR server.
func TestDPoPTokenSourceRefusesBearerToken(t *testing.T) {
	key, err := GenerateDPoPKey()
	require.NoError(t, err)
	for _, tokenType := range []string{"Bearer", "bearer", "", "mac"} {
		as := newFakeTokenServer(t)
		as.setAnswer(func(w http.ResponseWriter, _ int) {
			body := map[string]any{"access_token": "unbound", "expires_in": 3600}
			if tokenType != "" {
				body["token_type"] = tokenType
			}
			writeJSON(w, http.StatusOK, body)
		})
		var mu sync.Mutex
		var sent []string
		fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			sent = append(sent, r.Header.Get("Authorization"))
			mu.Unlock()
			w.Header().Set("Content-Type", FHIRMediaType)
			_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"1"}`))
		}))
		t.Cleanup(fhir.Close)

		cc, err := ClientCredentials(as.URL, "app", "secret", WithDPoP(key))
		require.NoError(t, err)
		bs, err := BackendServices(as.URL, "app", testKey(t, "p384", "k1", ""), WithDPoP(key))
		require.NoError(t, err)
		for name, ts := range map[string]*TokenCache{"client credentials": cc, "backend services": bs} {
			_, err := ts.TokenContext(context.Background())
			requireNotBound(t, err, tokenType, name)
			c, err := New(fhir.URL+"/fhir", ts)
			require.NoError(t, err)
			_, err = c.Read(context.Background(), "Patient", "1")
			requireNotBound(t, err, tokenType, name)
		}
		mu.Lock()
		require.Empty(t, sent, "token_type %q: no request reaches the FHIR server with an unbound token", tokenType)
		mu.Unlock()
	}
}

// requireNotBound checks the refusal of a token of tokenType: a bearer
// token is ErrDPoPNotBound; a malformed token_type may be refused earlier
// (Backend Services accepts only bearer or DPoP) but is refused.
func requireNotBound(t *testing.T, err error, tokenType, source string) {
	t.Helper()
	if strings.EqualFold(tokenType, "bearer") {
		require.ErrorIs(t, err, ErrDPoPNotBound, "%s, token_type %q", source, tokenType)
		return
	}
	require.Error(t, err, "%s, token_type %q", source, tokenType)
}
