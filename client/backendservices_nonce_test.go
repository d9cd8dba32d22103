package client_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/token"
)

// Backend Services with DPoP against the repo's authorization server,
// which requires a nonce and records an assertion's jti before it checks
// the proof: the nonce retry carries a new assertion, and gets a token.
func TestBackendServicesDPoPNonceFreshAssertion(t *testing.T) {
	priv, jwks := assertionKey(t)

	nonces, err := token.NewNonceSource([]byte(strings.Repeat("n", 32)), time.Minute)
	require.NoError(t, err)
	checker, err := token.NewDPoPChecker(token.DPoPConfig{Nonces: nonces})
	require.NoError(t, err)

	var (
		mu         sync.Mutex
		assertions []string
		as         *authserver.Server
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == authserver.TokenPath {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			assertions = append(assertions, form.Get("client_assertion"))
			mu.Unlock()
			// RFC 9449 section 8: the current nonce on every answer.
			w.Header().Set("DPoP-Nonce", checker.Nonce())
		}
		as.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	as, err = authserver.New(authserver.Config{Issuer: srv.URL, Audience: "http://127.0.0.1/fhir", DPoP: checker,
		Clients: []authserver.Client{{ID: "bulk", Scope: "system/*.rs", JWKS: jwks, DPoPBound: true}}})
	require.NoError(t, err)

	dk, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	ts, err := client.BackendServices(as.TokenURL(), "bulk", priv,
		client.WithScopes("system/Patient.rs"), client.WithDPoP(dk))
	require.NoError(t, err)
	tok, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	require.Equal(t, "DPoP", tok.Type())

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, assertions, 2, "one nonce challenge, one retry")
	require.NotEqual(t, assertions[0], assertions[1], "the retry carries a new client assertion")
}

// assertionKey is a P-384 private key (kid k1) for client assertions and
// the JWKS, as JSON, that an authorization server registers for it.
func assertionKey(t *testing.T) (jwk.Key, []byte) {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	priv, err := jwk.Import(raw)
	require.NoError(t, err)
	require.NoError(t, priv.Set(jwk.KeyIDKey, "k1"))
	pub, err := priv.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	jwks, err := json.Marshal(set)
	require.NoError(t, err)
	return priv, jwks
}
