package client_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
)

// dpopStack is a development authorization server checking DPoP proofs at
// its token endpoint and a FHIR server behind the middleware with DPoP.
type dpopStack struct {
	as       *authserver.Server
	fhirURL  string
	proofs   sync.Map     // every DPoP header the FHIR server received
	fail503  atomic.Int32 // answer this many FHIR requests 503 first
	tokenReq atomic.Int32 // token requests seen
}

func newDPoPStack(t *testing.T, fhirNonces, tokenNonce bool) *dpopStack {
	t.Helper()
	st := &dpopStack{}
	checker, err := token.NewDPoPChecker(token.DPoPConfig{})
	require.NoError(t, err)
	const tokenEndpointNonce = "token-endpoint-nonce"
	asSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == authserver.TokenPath {
			st.tokenReq.Add(1)
			if tokenNonce && !proofHasNonce(r.Header.Get("DPoP"), tokenEndpointNonce) {
				w.Header().Set("DPoP-Nonce", tokenEndpointNonce)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"use_dpop_nonce"}`))
				return
			}
		}
		st.as.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(asSrv.Close)
	fhirSrv := httptest.NewUnstartedServer(nil)
	fhirURL := "http://" + fhirSrv.Listener.Addr().String() + "/fhir"
	st.as, err = authserver.New(authserver.Config{Issuer: asSrv.URL, Audience: fhirURL, DPoP: checker,
		Clients: []authserver.Client{{ID: "app", Secret: "app-secret", Scope: "system/*.rs", DPoPBound: true}}})
	require.NoError(t, err)

	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: asSrv.URL, Audience: fhirURL, JWKSURL: st.as.JWKSURL()}, token.WithInsecureHTTP())
	require.NoError(t, err)
	t.Cleanup(func() { _ = ver.Close() })
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	var cfg middleware.DPoPConfig
	if fhirNonces {
		cfg.Nonces, err = token.NewNonceSource([]byte(strings.Repeat("s", 32)), time.Minute)
		require.NoError(t, err)
	}
	mw, err := middleware.New(ver, policy, middleware.WithDPoP(cfg))
	require.NoError(t, err)
	inner := mw.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...))
	fhirSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.Header.Get("DPoP"); p != "" {
			if _, dup := st.proofs.LoadOrStore(p, true); dup {
				t.Errorf("the client sent one proof twice")
			}
		}
		if st.fail503.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	})
	fhirSrv.Start()
	t.Cleanup(fhirSrv.Close)
	st.fhirURL = fhirURL
	return st
}

// proofHasNonce reports whether a proof's claims carry nonce (the test
// token endpoint's own check; the signature is checked by the real one).
func proofHasNonce(proof, nonce string) bool {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return false
	}
	js, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c struct{ Nonce string }
	return json.Unmarshal(js, &c) == nil && c.Nonce == nonce
}

func (st *dpopStack) client(t *testing.T, key *client.DPoPKey) (*client.Client, *client.TokenCache) {
	t.Helper()
	ts, err := client.ClientCredentials(st.as.TokenURL(), "app", "app-secret", client.WithDPoP(key), client.WithInsecureTokenURL())
	require.NoError(t, err)
	c, err := client.New(st.fhirURL, ts, client.WithRetry(client.RetryPolicy{MaxRetries: 2, MaxWait: time.Second, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	require.NoError(t, err)
	return c, ts
}

func TestDPoPClientEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name              string
		fhirNonce, tnonce bool
	}{{"no nonces", false, false}, {"FHIR server nonce", true, false}, {"token endpoint nonce", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newDPoPStack(t, tc.fhirNonce, tc.tnonce)
			key, err := client.GenerateDPoPKey()
			require.NoError(t, err)
			c, ts := st.client(t, key)
			ctx := context.Background()
			tok, err := ts.TokenContext(ctx)
			require.NoError(t, err)
			require.Equal(t, "DPoP", tok.Type())
			if tc.tnonce {
				require.Equal(t, int32(2), st.tokenReq.Load(), "asked for a nonce, the token request is sent again with it")
			}

			pages := 0
			for page, err := range c.Search(ctx, "Patient", url.Values{"_count": {"1"}}) {
				require.NoError(t, err)
				require.NotNil(t, page)
				pages++
			}
			require.GreaterOrEqual(t, pages, 3, "each page with its own proof")

			st.fail503.Store(1)
			_, err = c.Read(ctx, "Patient", naivefhir.Alice)
			require.NoError(t, err, "the retry after a 503 carries a fresh proof")
		})
	}
}

func TestDPoPClientTokenRefusedWithoutProof(t *testing.T) {
	st := newDPoPStack(t, false, false)
	key, err := client.GenerateDPoPKey()
	require.NoError(t, err)
	_, ts := st.client(t, key)
	tok, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	// The same token, as a bearer token or with no proof, is refused.
	for _, scheme := range []string{"Bearer", "DPoP"} {
		req, _ := http.NewRequest(http.MethodGet, st.fhirURL+"/Patient", nil)
		req.Header.Set("Authorization", scheme+" "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, scheme)
	}
}

func TestDPoPKeyProofVerifies(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	checker, err := token.NewDPoPChecker(token.DPoPConfig{})
	require.NoError(t, err)
	for _, s := range []crypto.Signer{ecKey, rsaKey, edKey} {
		k, err := client.NewDPoPKey(s)
		require.NoError(t, err)
		p, err := k.Proof("POST", "https://as.example/token?x=1#f", "", "")
		require.NoError(t, err)
		got, err := checker.VerifyProof(context.Background(), p, "POST", "https://as.example/token")
		require.NoError(t, err, k.Algorithm())
		require.Equal(t, k.Thumbprint(), got)
	}
}

func TestLoadDPoPKey(t *testing.T) {
	dir := t.TempDir()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	want, err := client.NewDPoPKey(ecKey)
	require.NoError(t, err)

	der, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)
	pemPath := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	k, err := client.LoadDPoPKey(pemPath)
	require.NoError(t, err)
	require.Equal(t, want.Thumbprint(), k.Thumbprint())

	jk, err := jwk.Import(ecKey)
	require.NoError(t, err)
	js, err := json.Marshal(jk)
	require.NoError(t, err)
	jwkPath := filepath.Join(dir, "key.jwk")
	require.NoError(t, os.WriteFile(jwkPath, js, 0o600))
	k, err = client.LoadDPoPKey(jwkPath)
	require.NoError(t, err)
	require.Equal(t, want.Thumbprint(), k.Thumbprint())

	pub, err := jwk.Import(&ecKey.PublicKey)
	require.NoError(t, err)
	js, err = json.Marshal(pub)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(jwkPath, js, 0o600))
	_, err = client.LoadDPoPKey(jwkPath)
	require.ErrorIs(t, err, client.ErrConfig, "a public key cannot sign proofs")
	_, err = client.LoadDPoPKey(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, client.ErrConfig)
}
