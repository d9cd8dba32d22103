package token_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
	"github.com/fhirwarden/fhirwarden/token"
)

// jwksServer serves a fixed JWKS document and records the Cache-Control
// header of every request.
type jwksServer struct {
	*httptest.Server
	mu            sync.Mutex
	doc           []byte
	cacheControls []string
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{doc: mustJSON(t, map[string]any{"keys": keys})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.cacheControls = append(s.cacheControls, r.Header.Get("Cache-Control"))
		doc := s.doc
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cacheControls...)
}

// jwkJSON is a public key as JWK members, plus extra members.
func jwkJSON(t *testing.T, pub crypto.PublicKey, extra map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.Import(pub)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(mustJSON(t, k), &m))
	for n, v := range extra {
		if v == nil {
			delete(m, n)
		} else {
			m[n] = v
		}
	}
	return m
}

func certFor(t *testing.T, pub crypto.PublicKey, signer crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "idp signing"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	require.NoError(t, err)
	return der
}

func thumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// signAs signs the default test claims for fuzzIssuer/fuzzAudience with alg.
func signAs(t *testing.T, alg, kid string, key crypto.Signer, claims []byte) string {
	t.Helper()
	if claims == nil {
		claims = fuzzClaims()
	}
	tok, err := authserver.SignCompact(mustJSON(t, map[string]any{"alg": alg, "kid": kid, "typ": "at+jwt"}), claims, alg, key)
	require.NoError(t, err)
	return tok
}

// remoteVerifier verifies fuzzIssuer tokens against the key set at url.
func remoteVerifier(t *testing.T, url string, log *slog.Logger, opts ...token.VerifierOption) *token.Verifier {
	t.Helper()
	if log == nil {
		log = discardLogger
	}
	base := []token.VerifierOption{token.WithClock(func() time.Time { return fuzzNow }), token.WithLogger(log)}
	v, err := token.NewVerifier(context.Background(), token.Config{Issuer: fuzzIssuer, Audience: fuzzAudience, JWKSURL: url}, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func TestPSAlgorithmsByDefaultKeyMustFit(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	srv := newJWKSServer(t,
		jwkJSON(t, &rk.PublicKey, map[string]any{"kid": "ps", "use": "sig"}),
		jwkJSON(t, &rk.PublicKey, map[string]any{"kid": "rs-only", "alg": "RS256"}),
		jwkJSON(t, &ek.PublicKey, map[string]any{"kid": "ec"}),
	)
	v := remoteVerifier(t, srv.URL, nil)
	ctx := context.Background()
	for _, alg := range []string{"PS256", "PS384", "PS512", "RS256"} {
		_, err := v.Authenticate(ctx, signAs(t, alg, "ps", rk, nil))
		require.NoError(t, err, alg)
	}
	// The key declares RS256: a PS256 token signed with it is refused.
	raw := signAs(t, "PS256", "rs-only", rk, nil)
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrAlgorithm, raw)
	// PS256 header naming an EC key: the key type does not admit it.
	raw = signAs(t, "PS256", "ec", rk, nil)
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrAlgorithm, raw)
}

func TestJWKSKeyOnlyAsX5C(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rder, eder := certFor(t, &rk.PublicKey, rk), certFor(t, &ek.PublicKey, ek)
	srv := newJWKSServer(t,
		// As Entra ID and AD FS publish them, minus n/e: kty, use, kid, x5t#S256, x5c.
		map[string]any{"kty": "RSA", "use": "sig", "kid": "rsa-cert", "x5t#S256": thumbprint(rder),
			"x5c": []string{base64.StdEncoding.EncodeToString(rder)}},
		map[string]any{"kty": "EC", "kid": "ec-cert", "x5c": []string{base64.StdEncoding.EncodeToString(eder)}},
	)
	v := remoteVerifier(t, srv.URL, nil)
	ctx := context.Background()
	p, err := v.Authenticate(ctx, signAs(t, "RS256", "rsa-cert", rk, nil))
	require.NoError(t, err)
	require.Equal(t, "my-smart-app", p.ClientID)
	_, err = v.Authenticate(ctx, signAs(t, "ES256", "ec-cert", ek, nil))
	require.NoError(t, err)
	// Another key claiming the certificate's kid does not verify.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	raw := signAs(t, "RS256", "rsa-cert", other, nil)
	_, err = v.Authenticate(ctx, raw)
	requireRejected(t, err, token.ErrSignature, raw)
	require.Equal(t, 2, v.Stats().KeysLoaded)
}

// TestJWKSX5CContradictions: a key whose certificate does not match its
// x5t#S256, or holds another public key than its n/e, is skipped and logged.
func TestJWKSX5CContradictions(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	good := certFor(t, &rk.PublicKey, rk)
	bad := certFor(t, &attacker.PublicKey, attacker)
	b64 := base64.StdEncoding.EncodeToString
	srv := newJWKSServer(t,
		map[string]any{"kty": "RSA", "kid": "thumb", "x5t#S256": thumbprint(bad), "x5c": []string{b64(good)}},
		jwkJSON(t, &rk.PublicKey, map[string]any{"kid": "mixed", "x5c": []string{b64(bad)}}),
		jwkJSON(t, &rk.PublicKey, map[string]any{"kid": "fine", "x5c": []string{b64(good)}, "x5t#S256": thumbprint(good)}),
		jwkJSON(t, &rk.PublicKey, map[string]any{"kid": "enc", "use": "enc"}),
	)
	logs := &lockedBuffer{}
	v := remoteVerifier(t, srv.URL, slog.New(slog.NewTextHandler(logs, nil)))
	ctx := context.Background()
	for _, kid := range []string{"thumb", "mixed", "enc"} {
		raw := signAs(t, "RS256", kid, rk, nil)
		_, err := v.Authenticate(ctx, raw)
		requireRejected(t, err, token.ErrUnknownKey, raw)
	}
	_, err = v.Authenticate(ctx, signAs(t, "RS256", "fine", rk, nil))
	require.NoError(t, err)
	st := v.Stats()
	require.Equal(t, 1, st.KeysLoaded)
	require.Equal(t, 3, st.KeysSkipped)
	// The skipped keys are logged by the fetch, just after it publishes the set.
	for _, want := range []string{"x5t#S256 is not the SHA-256 thumbprint", "different public key", `key use is \"enc\"`} {
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), want) }, 5*time.Second, 10*time.Millisecond, want)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestJWKSRefetchForUnknownKidIsNoCache(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	srv := newJWKSServer(t, jwkJSON(t, &rk.PublicKey, map[string]any{"kid": "a"}))
	clk := &testClock{t: fuzzNow}
	v := remoteVerifier(t, srv.URL, nil, token.WithClock(clk.Now))
	clk.Advance(time.Minute) // past the first fetch's rate-limit window
	raw := signAs(t, "RS256", "b", rk, nil)
	_, err = v.Authenticate(context.Background(), raw)
	requireRejected(t, err, token.ErrUnknownKey, raw)
	require.Equal(t, []string{"", "no-cache"}, srv.requests(), "first load, then the refetch for kid b")
}
