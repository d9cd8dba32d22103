package credential_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

const origin = "https://fhir.example.org"

// downCache is a replay store that cannot be reached.
type downCache struct{}

func (downCache) Seen(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

// plainAuth is an Authenticator that cannot return a token's binding.
type plainAuth struct{}

func (plainAuth) Authenticate(context.Context, string) (*token.Principal, error) {
	return nil, errors.New("no")
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func verifier(t testing.TB) (*tokentest.Issuer, *token.Verifier) {
	t.Helper()
	iss := tokentest.NewIssuer()
	t.Cleanup(iss.Close)
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()},
		token.WithLogger(discard()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ver.Close() })
	return iss, ver
}

// authorized is GET origin/bulk/1 with a DPoP token and its proof.
func authorized(t *testing.T, tok, proof string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/bulk/1", nil)
	r.Header.Set("Authorization", "DPoP "+tok)
	r.Header.Set("DPoP", proof)
	return r
}

func TestNewRefusesAnUnsharedDPoPScheme(t *testing.T) {
	_, ver := verifier(t)
	_, err := credential.New(ver, &middleware.DPoPConfig{ExternalURL: origin})
	require.Error(t, err, "a replay cache of its own would take the middleware's spent proofs")
	_, err = credential.New(ver, &middleware.DPoPConfig{DPoPConfig: token.DPoPConfig{Replay: downCache{}}, ExternalURL: origin + "/fhir"})
	require.Error(t, err, "an ExternalURL WithDPoP refuses")
	_, err = credential.New(plainAuth{}, &middleware.DPoPConfig{DPoPConfig: token.DPoPConfig{Replay: downCache{}}})
	require.Error(t, err, "an Authenticator that cannot tell a bound token")
}

// TestNonceAndReplayOutage: with server nonces, a proof without one is
// answered use_dpop_nonce with the nonce to retry with, and the retry
// is admitted; a replay store that is down is a 503, not the client's
// fault, and no challenge.
func TestNonceAndReplayOutage(t *testing.T) {
	iss, ver := verifier(t)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	tok := iss.Mint(map[string]any{"scope": "system/*.rs", "cnf": map[string]any{"jkt": key.Thumbprint()}})
	nonces, err := token.NewNonceSource([]byte(strings.Repeat("k", 32)), time.Minute)
	require.NoError(t, err)
	c, err := credential.New(ver, &middleware.DPoPConfig{
		DPoPConfig: token.DPoPConfig{Replay: token.NewMemoryReplayCache(10), Nonces: nonces}, ExternalURL: origin})
	require.NoError(t, err)

	p, err := key.Proof("GET", origin+"/bulk/1", tok, "")
	require.NoError(t, err)
	_, f := c.Authenticate(authorized(t, tok, p))
	require.NotNil(t, f)
	h := http.Header{}
	c.Challenge(h, "bulk", f)
	assert.Equal(t, http.StatusUnauthorized, f.Status)
	assert.Contains(t, h.Get("WWW-Authenticate"), `DPoP realm="bulk", error="use_dpop_nonce", algs="`)
	nonce := h.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)
	p, err = key.Proof("GET", origin+"/bulk/1", tok, nonce)
	require.NoError(t, err)
	pr, f := c.Authenticate(authorized(t, tok, p))
	require.Nil(t, f)
	require.NotNil(t, pr)

	down, err := credential.New(ver, &middleware.DPoPConfig{DPoPConfig: token.DPoPConfig{Replay: downCache{}}, ExternalURL: origin})
	require.NoError(t, err)
	p, err = key.Proof("GET", origin+"/bulk/1", tok, "")
	require.NoError(t, err)
	_, f = down.Authenticate(authorized(t, tok, p))
	require.NotNil(t, f)
	assert.Equal(t, http.StatusServiceUnavailable, f.Status)
	h = http.Header{}
	down.Challenge(h, "bulk", f)
	assert.Empty(t, h)
}
